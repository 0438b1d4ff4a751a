//! Server-rendered HTML: one page layout with inline CSS, escaping and date formatting.

use std::fmt::Write as _;

use time::macros::format_description;
use time::{OffsetDateTime, UtcOffset};

/// Escapes text for HTML element content and quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A UTC timestamp such as `2025-01-31 14:05 UTC`, or `never` for the zero time Passage sends for
/// events that have not happened.
pub fn datetime(at: OffsetDateTime) -> String {
    if at.unix_timestamp() <= 0 {
        return "never".to_owned();
    }
    at.to_offset(UtcOffset::UTC)
        .format(format_description!(
            "[year]-[month]-[day] [hour]:[minute] UTC"
        ))
        .unwrap_or_else(|_| "unknown".to_owned())
}

/// The navigation bar state of a page.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Nav {
    /// Signed out: a "Sign in" link.
    SignedOut,
    /// Signed in: links to the profile and devices, and a sign-out button.
    SignedIn,
}

const STYLE: &str = "\
*{box-sizing:border-box}\
body{margin:0;font-family:system-ui,-apple-system,'Segoe UI',Helvetica,Arial,sans-serif;\
background:#f4f5f7;color:#1f2328;line-height:1.5}\
header{background:#121212;color:#f3f3f3}\
header .bar{max-width:760px;margin:0 auto;padding:.8rem 1.25rem;display:flex;align-items:center;gap:1.25rem}\
header .brand{font-weight:600;color:#fff;text-decoration:none;margin-right:auto}\
header a{color:#d0d0d0;text-decoration:none}header a:hover{color:#fff}\
header form{margin:0}\
main{max-width:760px;margin:2rem auto;padding:0 1.25rem}\
.card{background:#fff;border-radius:10px;box-shadow:0 2px 12px rgba(0,0,0,.08);padding:1.75rem 2rem;margin-bottom:1.5rem}\
h1{font-size:1.5rem;margin:0 0 .5rem;overflow-wrap:anywhere}\
.actions{display:flex;gap:.75rem;align-items:center;flex-wrap:wrap}.actions form{margin:0}h2{font-size:1.1rem;margin:0 0 1rem}\
p{margin:.5rem 0}.muted{color:#656d76}\
.button,button{display:inline-block;padding:.55rem 1.1rem;border:0;border-radius:6px;background:#121212;\
color:#f3f3f3;font-size:.95rem;text-decoration:none;cursor:pointer;font-family:inherit;line-height:1.5}\
.button:hover,button:hover{background:#4d4d4d}\
button.link{background:none;color:#d0d0d0;padding:0;font-size:1rem}button.link:hover{color:#fff;background:none}\
button.secondary{background:#e8eaed;color:#1f2328}button.secondary:hover{background:#d5d8dc}\
dl{display:grid;grid-template-columns:max-content 1fr;gap:.55rem 1.5rem;margin:0}\
dt{color:#656d76}dd{margin:0;overflow-wrap:anywhere}\
table{width:100%;border-collapse:collapse;font-size:.95rem}\
th,td{text-align:left;padding:.55rem .5rem;border-bottom:1px solid #e6e8eb}th{color:#656d76;font-weight:500}\
.badge{display:inline-block;padding:.05rem .55rem;border-radius:999px;font-size:.8rem;background:#e6f4ea;color:#1e6b34}\
.badge.off{background:#fdecea;color:#8a1c12}\
button.small{padding:.3rem .75rem;font-size:.85rem}td form{margin:0}\
img.icon{width:1.2rem;height:1.2rem;vertical-align:middle;margin-right:.4rem}\
.notice{background:#fff8e6;border-left:4px solid #e0a800;padding:.75rem 1rem;border-radius:6px}\
code{background:#f0f1f3;padding:.1rem .35rem;border-radius:4px;font-size:.9em}\
footer{max-width:760px;margin:0 auto 2rem;padding:0 1.25rem;color:#8c959f;font-size:.8rem}";

/// A whole page: head, navigation, the given body (already HTML) and a footer.
pub fn page(title: &str, nav: Nav, body: &str) -> String {
    let nav = match nav {
        Nav::SignedOut => "<a id=\"nav-sign-in\" href=\"/sign-in\">Sign in</a>".to_owned(),
        Nav::SignedIn => "<a href=\"/profile\">Profile</a><a href=\"/devices\">Devices</a>\
<form method=\"post\" action=\"/sign-out\"><button class=\"link\" id=\"nav-sign-out\" \
type=\"submit\">Sign out</button></form>"
            .to_owned(),
    };
    let mut out = String::with_capacity(4096 + body.len());
    let _ = write!(
        out,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
<title>{title} · Passage quickstart</title><style>{STYLE}</style></head><body>\
<header><div class=\"bar\"><a class=\"brand\" href=\"/\">Passage quickstart</a>{nav}</div></header>\
<main>{body}</main><footer>Rust · axum · passage-axum: plain server-rendered HTML</footer>\
</body></html>",
        title = escape(title),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(
            escape("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }

    #[test]
    fn formats_dates() {
        assert_eq!(datetime(OffsetDateTime::UNIX_EPOCH), "never");
        let at = time::macros::datetime!(2025-01-31 14:05:09 +02:00);
        assert_eq!(datetime(at), "2025-01-31 12:05 UTC");
    }
}
