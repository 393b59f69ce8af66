// The Chat page's composer (our own fixed script, no data in it; one set of
// listeners per browser tab). Streamlit takes a text area's text when the box
// is left (blur): each action below leaves the box to hand its text over.
if (!window.maxchatComposer) {
  window.maxchatComposer = true;
  const draftOf = (el) => el instanceof HTMLTextAreaElement && el.closest("[class*='st-key-chat_draft_']") ? el : null;
  const theDraft = () => document.querySelector("[class*='st-key-chat_draft_'] textarea");
  const handOver = (box, caret) => {  // to Streamlit, and back to typing where the caret was
    box.blur();
    box.focus();
    box.setSelectionRange(caret, caret);
  };

  // Enter sends and Shift+Enter makes a new line, as in WhatsApp Web; a lone
  // /shortcut is handed over (to be expanded or listed), never sent as it is.
  document.addEventListener("keydown", (e) => {
    if (e.key !== "Enter" || e.shiftKey || e.altKey || e.ctrlKey || e.metaKey || e.isComposing) return;
    const box = draftOf(e.target);
    if (!box) return;
    e.preventDefault();
    if (/^\/\S*$/.test(box.value.trim())) { box.blur(); return; }
    const send = document.querySelector(".st-key-chat_send button");
    if (!send || !box.value.trim()) return;
    box.blur();
    setTimeout(() => send.click(), 0);
  }, true);

  // Typing "/" in an empty box lists the quick replies above it.
  document.addEventListener("input", (e) => {
    const box = draftOf(e.target);
    if (box && box.value === "/") handOver(box, 1);
  }, true);

  // An emoji goes where the caret is (not at the end), and its pop-up closes.
  document.addEventListener("click", (e) => {
    const item = e.target instanceof Element && e.target.closest("[class*='st-key-chat_emoji_']");
    const button = item && !item.matches(".st-key-chat_emoji_pop") && e.target.closest("button");
    const box = theDraft();
    if (!button || !box) return;
    e.preventDefault();
    e.stopPropagation();  // Streamlit's own click (append at the end) does not run
    const emoji = button.innerText.trim();
    const start = box.selectionStart ?? box.value.length, end = box.selectionEnd ?? start;
    const setValue = Object.getOwnPropertyDescriptor(HTMLTextAreaElement.prototype, "value").set;
    setValue.call(box, box.value.slice(0, start) + emoji + box.value.slice(end));
    box.dispatchEvent(new Event("input", { bubbles: true }));
    document.querySelector(".st-key-chat_emoji_pop button")?.click();  // close the pop-up
    handOver(box, start + emoji.length);
  }, true);
}
