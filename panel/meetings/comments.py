"""Discussion on a case between meetings: comments by the panel, internal or shared with the
referrers, the referrers' replies to shared comments, and @mentions.

Who sees what:
- the panel's people (members, chairs, coordinators of the case's panel) see every comment;
- the case's referrers see shared comments and the replies in shared threads;
- nobody else (admins included) sees any.

Threads are one level deep: a top-level comment and its replies. A reply takes the visibility
of the comment it answers. Like every operation, these flush and audit but never commit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from markupsafe import Markup, escape
from sqlalchemy import func, or_, select
from sqlalchemy.orm import joinedload, selectinload

from panel.accounts.models import PanelRoleKind, User
from panel.accounts.queries import panel_people
from panel.cases.models import Case
from panel.core import audit
from panel.core.db import db
from panel.core.errors import IdentifiersFound, NotAllowed, Refused
from panel.core.notify import case_referrers, notify
from panel.core.web import path_for
from panel.meetings.models import Comment, CommentMention, CommentVisibility
from panel.privacy.guard import guard_texts

MAX_BODY = 5000

#: ``@`` + a handle: the local part of a user's e-mail (``@ada.lovelace``), or the whole address
#: when two people who could be mentioned share a local part (``@ada@nhs.example``). The
#: look-behind keeps e-mail addresses typed in the text (``ada@nhs.example``) from matching.
MENTION_RE = re.compile(
    r"(?<![\w.+@-])@([A-Za-z0-9](?:[A-Za-z0-9._+-]*[A-Za-z0-9])?)(@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)?"
)


# --------------------------------------------------------------------------- reading
@dataclass
class Thread:
    comment: Comment
    replies: list[Comment] = field(default_factory=list)


def visible_comments(case: Case, user: User) -> list[Thread]:
    """The threads ``user`` may read on ``case``, oldest first, each with its replies (oldest
    first). One query for the comments, one for their mentions."""
    if not case.can_see_comments(user):
        return []
    stmt = (
        select(Comment)
        .where(Comment.case_id == case.id)
        .options(
            joinedload(Comment.author),
            selectinload(Comment.mentions).joinedload(CommentMention.user),
        )
        .order_by(Comment.created_at, Comment.id)
    )
    panel = case.is_panel_person(user)
    if not panel:
        stmt = stmt.where(Comment.visibility == CommentVisibility.SHARED)
    comments = db.session.scalars(stmt).all()
    threads: dict[int, Thread] = {}
    for c in comments:
        if c.parent_id is None:
            threads[c.id] = Thread(c)
    for c in comments:
        if c.parent_id is not None and c.parent_id in threads:
            threads[c.parent_id].replies.append(c)
    return list(threads.values())


# --------------------------------------------------------------------------- mentions
def handle_of(user: User) -> str:
    return user.email.split("@", 1)[0].lower()


def mentionable(case: Case, visibility: CommentVisibility | str) -> list[tuple[User, str]]:
    """People who could read a comment of ``visibility`` on ``case``, with the handle to type:
    the panel's people, plus the case's referrers for a shared comment. Sorted by name."""
    visibility = CommentVisibility(visibility)
    people: dict[int, User] = {u.id: u for u in panel_people(case.panel_id)}
    if visibility == CommentVisibility.SHARED:
        for u in case_referrers(case):
            if u is not None and u.active:
                people.setdefault(u.id, u)
    counts: dict[str, int] = {}
    for u in people.values():
        counts[handle_of(u)] = counts.get(handle_of(u), 0) + 1
    out = [
        (u, handle_of(u) if counts[handle_of(u)] == 1 else u.email.lower()) for u in people.values()
    ]
    return sorted(out, key=lambda pair: (pair[0].name.lower(), pair[1]))


def _resolver(people: list[tuple[User, str]]) -> dict[str, User]:
    """Handle (and full address) -> user, for the people who may be mentioned."""
    by_handle: dict[str, User] = {}
    for user, handle in people:
        by_handle[handle] = user
        by_handle[user.email.lower()] = user
    return by_handle


def _resolve(match: re.Match, lookup: dict[str, User]) -> tuple[User | None, int]:
    """The user a mention names and where the mention ends (the full address first, then the
    local part alone)."""
    local, domain = match.group(1).lower(), (match.group(2) or "").lower()
    if domain and (user := lookup.get(local + domain)) is not None:
        return user, match.end()
    return lookup.get(local), match.start() + 1 + len(match.group(1))


def mention_spans(body: str, people: list[tuple[User, str]]) -> list[tuple[int, int, User]]:
    """(start, end, user) of every mention in ``body`` that names one of ``people``; unknown
    handles are plain text."""
    lookup = _resolver(people)
    spans = []
    for m in MENTION_RE.finditer(body):
        user, end = _resolve(m, lookup)
        if user is not None:
            spans.append((m.start(), end, user))
    return spans


def _without_mentions(body: str, spans: list[tuple[int, int, User]]) -> str:
    """``body`` with resolved mentions blanked (same length), for the identifier scan: a
    colleague's handle (``@ada.lovelace``) is staff, not patient, data and would otherwise read
    as a web address."""
    chars = list(body)
    for start, end, _ in spans:
        chars[start:end] = " " * (end - start)
    return "".join(chars)


def render_body(comment: Comment) -> Markup:
    """The comment's text, escaped (line breaks kept by the ``preserve-lines`` class), with the
    mentions that were resolved when it was posted highlighted."""
    body = comment.body
    lookup: dict[str, User] = {}
    for mention in comment.mentions:
        lookup[handle_of(mention.user)] = mention.user
        lookup[mention.user.email.lower()] = mention.user
    if not lookup:
        return escape(body)
    parts: list[str] = []
    pos = 0
    for m in MENTION_RE.finditer(body):
        user, end = _resolve(m, lookup)
        if user is None:
            continue
        parts.append(escape(body[pos : m.start()]))
        parts.append(
            Markup(
                '<span class="badge rounded-pill text-bg-primary fw-semibold mention" title="{}">{}</span>'
            ).format(user.name, body[m.start() : end])
        )
        pos = end
    parts.append(escape(body[pos:]))
    return Markup("").join(parts)


def _staff_spans(body: str, resolved: list[tuple[int, int, User]]) -> list[tuple[int, int, User]]:
    """Mentions that name a staff account who may not read this comment (e.g. the referrer in
    an internal comment): they stay plain text, and are staff data, not patient data. One query."""
    starts = {start for start, _, _ in resolved}
    rest = [m for m in MENTION_RE.finditer(body) if m.start() not in starts]
    if not rest:
        return []
    wanted = {m.group(1).lower() for m in rest}
    users = db.session.scalars(
        select(User).where(
            or_(*(func.lower(User.email).startswith(h + "@", autoescape=True) for h in wanted))
        )
    ).all()
    lookup: dict[str, User] = {}
    for u in users:
        lookup.setdefault(handle_of(u), u)
        lookup[u.email.lower()] = u
    out = []
    for m in rest:
        user, end = _resolve(m, lookup)
        if user is not None:
            out.append((m.start(), end, user))
    return out


def _guard(body: str, resolved: list[tuple[int, int, User]]) -> None:
    """The identifier scan, with colleagues' handles left out. An ``@handle`` that is nobody on
    Panel reads as a social-media handle (an identifier): refused with a message about mentions."""
    spans = resolved + _staff_spans(body, resolved)
    try:
        guard_texts([("comment", _without_mentions(body, spans))])
    except IdentifiersFound as exc:
        known = {start for start, _, _ in spans}
        for m in MENTION_RE.finditer(body):
            if m.start() in known:
                continue
            if any(
                f.start <= m.start() < f.end or m.start() <= f.start < m.end() for f in exc.findings
            ):
                raise Refused(
                    f"{m.group(0)} is not anyone on Panel. Check the handle against the list of people you can "
                    "mention; other @handles (such as social-media accounts) are identifiers and cannot be saved.",
                    "body",
                ) from None
        raise


# --------------------------------------------------------------------------- writing
def add_comment(
    case: Case,
    *,
    body: str,
    visibility: CommentVisibility | str,
    by: User,
    parent: Comment | None = None,
) -> Comment:
    """Post a comment on ``case``.

    Panel people write internal or shared comments and reply in any thread; a reply takes its
    thread's visibility. Referrers may only reply to a shared top-level comment (their reply is
    shared). Shared comments notify the referrers; a referrer's reply notifies the author of the
    comment it answers and the panel's coordinators; mentions notify the people mentioned who
    can read the comment. Nothing is saved when the text contains a patient identifier."""
    panel = case.is_panel_person(by)
    referrer = case.is_referrer(by)
    if not case.can_post_comment(by):
        if not (panel or referrer):
            raise NotAllowed("Only the panel and the case's referrers can comment on this case.")
        raise NotAllowed("This case is not open for comments.")
    if parent is not None:
        if parent.case_id != case.id:
            raise Refused("That comment is not on this case.", "parent")
        if parent.parent_id is not None:
            raise Refused("Reply to the first comment of the thread.", "parent")
    if not panel:
        if parent is None or parent.visibility != CommentVisibility.SHARED:
            raise NotAllowed("Referrers can reply to comments the panel has shared with them.")
        visibility = CommentVisibility.SHARED
    elif parent is not None:
        visibility = parent.visibility
    try:
        visibility = CommentVisibility(visibility)
    except ValueError:
        raise Refused("Choose who can read the comment.", "visibility") from None

    body = (body or "").replace("\r\n", "\n").strip()
    if not body:
        raise Refused("Write a comment first.", "body")
    if len(body) > MAX_BODY:
        raise Refused(
            f"A comment can be at most {MAX_BODY} characters (this one has {len(body)}).", "body"
        )
    spans = mention_spans(body, mentionable(case, visibility))
    _guard(body, spans)
    mentioned = list({u.id: u for _, _, u in spans if u.id != by.id}.values())
    comment = Comment(
        case_id=case.id,
        author_id=by.id,
        visibility=visibility,
        parent_id=parent.id if parent is not None else None,
        body=body,
    )
    comment.author = by
    comment.mentions = [CommentMention(user_id=u.id, user=u) for u in mentioned]
    db.session.add(comment)
    db.session.flush()
    audit.record(
        "comment.added",
        obj=case,
        actor=by,
        details={
            "comment_id": comment.id,
            "visibility": visibility.value,
            "parent_id": comment.parent_id,
            "mentions": [u.id for u in mentioned],
        },
    )

    link = path_for("cases.show", ref=case.reference, _anchor="comments")
    ref = case.reference
    mentioned_ids = {u.id for u in mentioned}
    if mentioned:
        notify(
            mentioned,
            panel_id=case.panel_id,
            kind="comment.mention",
            text=f"You were mentioned on {ref}",
            link=link,
            exclude=by,
            case_ref=ref,
        )
    recipients: list[User] = []
    if visibility == CommentVisibility.SHARED:
        recipients += [u for u in case_referrers(case) if u is not None]
        if not panel:  # a referrer's reply: the comment's author and the panel's coordinators
            recipients += [parent.author] if parent is not None else []
            recipients += panel_people(case.panel_id, PanelRoleKind.COORDINATOR)
    recipients = [u for u in recipients if u.id not in mentioned_ids]
    if recipients:
        text = (
            f"New reply from the referrer on {ref}"
            if not panel
            else f"New comment from the panel on {ref}"
        )
        notify(
            recipients,
            panel_id=case.panel_id,
            kind="comment.added",
            text=text,
            link=link,
            exclude=by,
            case_ref=ref,
        )
    return comment
