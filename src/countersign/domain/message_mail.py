"""The mail that tells someone who may see a message about it (countersign.storage.messages.audience).

Files are named and linked, never attached: the link goes through the same access rules.
"""

from __future__ import annotations

from countersign.domain.mail_text import one_line
from countersign.domain.notifications import ENV, Mail

TEXT = ENV.get_template("message.txt")
HTML = ENV.get_template("message.html")
FILE_TEXT = ENV.get_template("message_file.txt")
FILE_HTML = ENV.get_template("message_file.html")


def message_mail(recipient: str, proposal_id: int, title: str, author: str, question: bool, answers: bool,
                 text: str, files: list[tuple[str, int, str]], base_url: str, mentioned: bool) -> Mail:
    what = "Question" if question else "Answer" if answers else "Message"
    subject = one_line(f"{what} from {author} on {title}" + (" (you are mentioned)" if mentioned else ""))
    values = dict(title=title, author=author, what=what, text=text, mentioned=mentioned,
                  files=[{"name": n, "size": s, "link": link} for n, s, link in files],
                  link=f"{base_url.rstrip('/')}/proposals/{proposal_id}#thread")
    return Mail(recipient, subject, TEXT.render(values), HTML.render(values), "message")


def file_added_mail(recipient: str, proposal_id: int, title: str, uploader: str, question: bool,
                    file: tuple[str, int, str], base_url: str) -> Mail:
    """A file added later to a message `recipient` can see: named and linked."""
    name, size, link = file
    on = "question" if question else "message"
    subject = one_line(f"File added by {uploader} to a {on} on {title}: {name}")
    values = dict(title=title, uploader=uploader, on=on, file={"name": name, "size": size, "link": link},
                  link=f"{base_url.rstrip('/')}/proposals/{proposal_id}#thread")
    return Mail(recipient, subject, FILE_TEXT.render(values), FILE_HTML.render(values), "file")
