-- A send is one or more provider calls ("steps"): WhatsApp media is an upload
-- then a send; Messenger media with a caption is the file then the caption.
-- Each step done is recorded before the next is made, so a retry resumes
-- where the send stopped and never repeats a step the customer already got.
ALTER TABLE outbox ADD COLUMN step INTEGER DEFAULT 0;           -- steps done
-- queued: waiting for its time; sending: a provider call that puts something
-- in front of the customer is in flight (committed before the call, so a row
-- found so after a restart is one we cannot tell was sent); failed: ended
-- failed, kept with its progress so a retry by hand resumes at that step.
ALTER TABLE outbox ADD COLUMN state VARCHAR DEFAULT 'queued';
ALTER TABLE outbox ADD COLUMN upload_id VARCHAR;                -- WhatsApp media id of the uploaded file
ALTER TABLE outbox ADD COLUMN provider_message_id VARCHAR;      -- the first part's id when a send has two

-- WhatsApp templates sent to Meta for review: failed submissions count too.
ALTER TABLE templates ADD COLUMN submit_attempts INTEGER DEFAULT 0;
ALTER TABLE templates ADD COLUMN submit_next_at TIMESTAMPTZ;
