"""B2-B4: labels. A label belongs to the contact; each chat row carries its
contact's label ids so the list can filter on one table."""
from __future__ import annotations

from .common import acting, actor_name, chat_row, record
from .engine import LABEL_BITS_OF
from .errors import NotFound, ValidationError
from .i18n import N_, _, later
from .roles import can
from .store import Store, Writer, utcnow

# The `Add Color` palette: name -> hex. A label stores the name (migration
# 015), so a shade changed here changes every label of that colour; the hex
# is looked up only to draw it (``shade``). Names are shown with _().
PALETTE = {
    N_("Red"): "#E53935", N_("Orange"): "#FB8C00", N_("Yellow"): "#FDD835", N_("Green"): "#43A047",
    N_("Teal"): "#00897B", N_("Blue"): "#1E88E5", N_("Indigo"): "#3949AB", N_("Purple"): "#8E24AA",
    N_("Pink"): "#D81B60", N_("Brown"): "#6D4C41", N_("Grey"): "#757575",
}
UNKNOWN_SHADE = PALETTE[N_("Grey")]


def shade(color: str) -> str:
    """The hex a stored colour name is drawn in (grey for a name the palette
    no longer has)."""
    return PALETTE.get(color, UNKNOWN_SHADE)


def list_labels(store: Store) -> list[dict]:
    return store.dicts("SELECT id, name, color FROM labels ORDER BY name_key")


def labels_in_use(store: Store) -> list[dict]:
    """The Labels page: every label with how many chats carry it."""
    return store.dicts(
        "SELECT l.id, l.name, l.color, coalesce(u.chats, 0) AS chats FROM labels l LEFT JOIN"
        " (SELECT label_id, count(*) AS chats FROM (SELECT unnest(label_ids) AS label_id FROM chats) carried"
        " GROUP BY label_id) u"
        " ON u.label_id = l.id ORDER BY l.name_key")


def clean(name: str, color: str) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise ValidationError(_("Give the label a name."))
    if len(name) > 40:
        raise ValidationError(_("A label name can be at most 40 characters."))
    if color not in PALETTE:
        raise ValidationError(_("Pick a colour from the palette."))
    return name


def create_label(store: Store, name: str, color: str, actor_id: int) -> int:
    """B2: anyone who acts on chats adds a label (the chat's label pop-up)."""
    return store.write(_create, clean(name, color), color, actor_id)


def update_label(store: Store, label_id: int, name: str, color: str, actor_id: int) -> None:
    """Rename or recolour: every chat carrying it shows the new name and colour."""
    store.write(_update, label_id, clean(name, color), color, actor_id)


def _update(w: Writer, label_id, name, color, actor_id):
    _may_change_everyone(w, actor_id, N_("Only a supervisor or an admin can rename or recolour a label:"
                                         " every contact carrying it changes."))
    old = w.one("SELECT name, color FROM labels WHERE id = ?", [label_id])
    if old is None:
        raise NotFound(_("Label {id} does not exist.").format(id=label_id))
    if w.one("SELECT 1 FROM labels WHERE name_key = ? AND id <> ?", [name.casefold(), label_id]):
        raise ValidationError(_("A label named {name!r} already exists.").format(name=name))
    if (name, color) == old:
        return
    w.execute("UPDATE labels SET name = ?, name_key = ?, color = ? WHERE id = ?", [name, name.casefold(), color, label_id])
    record(w, None, actor_id, "label_updated", f"{label_id} {old[0]} {old[1]} -> {name} {color}", utcnow())


def _create(w: Writer, name, color, actor_id):
    acting(w, actor_id)
    return insert_label(w, name, color, actor_id)


def insert_label(w: Writer, name: str, color: str, actor_id: int | None) -> int:
    """Writer side of adding a label (a person's, or system-side: ``system.create_label``)."""
    if w.one("SELECT 1 FROM labels WHERE name_key = ?", [name.casefold()]):
        raise ValidationError(_("A label named {name!r} already exists.").format(name=name))
    label_id = w.ids.next("labels")
    now = utcnow()
    w.execute("INSERT INTO labels VALUES (?, ?, ?, ?, ?)", [label_id, name, name.casefold(), color, now])
    record(w, None, actor_id, "label_created", f"{label_id} {name}", now)
    return label_id


def set_label(store: Store, chat_id: int, label_id: int, on: bool, actor_id: int) -> bool:
    """B3: check = attach to the chat's contact, uncheck = detach. False when
    nothing changed."""
    return store.write(_set_label, chat_id, label_id, bool(on), actor_id)


def _set_label(w: Writer, chat_id, label_id, on, actor_id):
    acting(w, actor_id)
    chat = chat_row(w, chat_id)
    label = w.one("SELECT name FROM labels WHERE id = ?", [label_id])
    if label is None:
        raise NotFound(_("Label {id} does not exist.").format(id=label_id))
    has = w.one("SELECT 1 FROM contact_labels WHERE contact_id = ? AND label_id = ?", [chat["contact_id"], label_id])
    if bool(has) == on:
        return False
    if on:
        w.execute("INSERT INTO contact_labels VALUES (?, ?)", [chat["contact_id"], label_id])
    else:
        w.execute("DELETE FROM contact_labels WHERE contact_id = ? AND label_id = ?", [chat["contact_id"], label_id])
    _refresh_chat_labels(w, [chat["contact_id"]])
    now = utcnow()
    who = actor_name(w, actor_id)
    line = (later._("{who} added label {label}", who=who, label=label[0]) if on
            else later._("{who} removed label {label}", who=who, label=label[0]))
    for (other,) in w.all("SELECT id FROM chats WHERE contact_id = ?", [chat["contact_id"]]):
        record(w, other, actor_id, "label_added" if on else "label_removed", f"{label_id} {label[0]}", now,
               line)
    return True


def can_delete_labels(role: str) -> bool:
    """Agents add and remove labels on chats and create new ones; deleting a
    label takes it off every contact, so that is for supervisors and admins."""
    return can(role, "change_labels")


def _may_change_everyone(w: Writer, actor_id, refusal: str) -> None:
    """Renaming, recolouring or deleting a label changes it for every contact."""
    acting(w, actor_id)  # an analyst hears that they act on no chat
    acting(w, actor_id, "change_labels", refusal)


def delete_label(store: Store, label_id: int, actor_id: int) -> None:
    """B4: gone from the list and from every contact."""
    store.write(_delete, label_id, actor_id)


def _delete(w: Writer, label_id, actor_id):
    _may_change_everyone(w, actor_id, N_("Only a supervisor or an admin can delete a label:"
                                         " it is removed from every contact."))
    label = w.one("SELECT name FROM labels WHERE id = ?", [label_id])
    if label is None:
        raise NotFound(_("Label {id} does not exist.").format(id=label_id))
    contacts = [c for (c,) in w.all("SELECT contact_id FROM contact_labels WHERE label_id = ?", [label_id])]
    w.execute("DELETE FROM contact_labels WHERE label_id = ?", [label_id])
    w.execute("DELETE FROM labels WHERE id = ?", [label_id])
    _refresh_chat_labels(w, contacts)
    now = utcnow()
    record(w, None, actor_id, "label_deleted", f"{label_id} {label[0]} (from {len(contacts)} contacts)", now)
    # C6: every chat that lost the label says so in its thread.
    line = later._("{who} deleted the label {label}", who=actor_name(w, actor_id), label=label[0])
    for (chat_id,) in w.all("SELECT id FROM chats WHERE contact_id = ANY(?::BIGINT[]) ORDER BY id", [contacts]):
        record(w, chat_id, actor_id, "label_removed", f"{label_id} {label[0]} (label deleted)", now, line)


def _refresh_chat_labels(w: Writer, contact_ids: list[int]) -> None:
    if not contact_ids:
        return
    changed = w.all(
        "UPDATE chats SET label_ids = coalesce(l.ids, ARRAY[]::INTEGER[]), label_bits = l.bits FROM (SELECT"
        " c.id AS chat_id, array_agg(cl.label_id ORDER BY cl.label_id) FILTER (WHERE cl.label_id IS NOT NULL) AS ids,"
        f" {LABEL_BITS_OF.format('cl.label_id')} AS bits FROM chats c LEFT JOIN contact_labels cl ON cl.contact_id = c.contact_id"
        " WHERE c.contact_id = ANY(?::BIGINT[]) GROUP BY c.id) l WHERE chats.id = l.chat_id RETURNING chats.id",
        [contact_ids])
    w.chats_changed(chat_id for (chat_id,) in changed)
