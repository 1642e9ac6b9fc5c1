//! Rendering log messages as faas-cli does: plain, key=value or JSON lines, with timestamps in a
//! Go time layout (`2006-01-02T15:04:05Z07:00`) or one of Go's named layouts.

use chrono::{DateTime, Datelike, Timelike, Utc};

use super::types::LogMessage;

/// Which optional columns plain output shows.
#[derive(Debug, Clone, Copy, Default)]
pub struct Columns {
    pub name: bool,
    pub instance: bool,
}

/// A Go layout for a named format (`rfc3339`, `ansic`, ...), or the text itself.
pub fn layout(name_or_layout: &str) -> &str {
    match name_or_layout.to_lowercase().as_str() {
        "ansic" => "Mon Jan _2 15:04:05 2006",
        "unixdate" => "Mon Jan _2 15:04:05 MST 2006",
        "rubydate" => "Mon Jan 02 15:04:05 -0700 2006",
        "rfc822" => "02 Jan 06 15:04 MST",
        "rfc822z" => "02 Jan 06 15:04 -0700",
        "rfc850" => "Monday, 02-Jan-06 15:04:05 MST",
        "rfc1123" => "Mon, 02 Jan 2006 15:04:05 MST",
        "rfc1123z" => "Mon, 02 Jan 2006 15:04:05 -0700",
        "rfc3339" => "2006-01-02T15:04:05Z07:00",
        "rfc3339nano" => "2006-01-02T15:04:05.999999999Z07:00",
        _ => name_or_layout,
    }
}

const TOKENS: &[&str] = &[
    "January",
    "Monday",
    "Z07:00",
    "-07:00",
    "Z0700",
    "-0700",
    ".999999999",
    ".000000000",
    ".999999",
    ".000000",
    ".999",
    ".000",
    "2006",
    "Jan",
    "Mon",
    "MST",
    "_2",
    "01",
    "02",
    "03",
    "04",
    "05",
    "06",
    "15",
    "PM",
    "pm",
    "1",
    "2",
    "3",
    "4",
    "5",
];

/// Formats a UTC time with a Go reference-time layout.
pub fn format_go(t: &DateTime<Utc>, layout: &str) -> String {
    let mut out = String::new();
    let mut rest = layout;
    while !rest.is_empty() {
        match TOKENS.iter().find(|tok| rest.starts_with(**tok)) {
            Some(tok) => {
                out.push_str(&token(t, tok));
                rest = &rest[tok.len()..];
            }
            None => {
                let c = rest.chars().next().expect("non-empty");
                out.push(c);
                rest = &rest[c.len_utf8()..];
            }
        }
    }
    out
}

fn fraction(t: &DateTime<Utc>, digits: usize, trim: bool) -> String {
    let nanos = format!("{:09}", t.nanosecond() % 1_000_000_000);
    let mut frac = nanos[..digits].to_string();
    if trim {
        frac = frac.trim_end_matches('0').to_string();
        if frac.is_empty() {
            return String::new();
        }
    }
    format!(".{frac}")
}

fn token(t: &DateTime<Utc>, tok: &str) -> String {
    let hour12 = if t.hour().is_multiple_of(12) { 12 } else { t.hour() % 12 };
    match tok {
        "January" => t.format("%B").to_string(),
        "Monday" => t.format("%A").to_string(),
        "Z07:00" | "Z0700" => "Z".into(),
        "-07:00" => "+00:00".into(),
        "-0700" => "+0000".into(),
        ".999999999" => fraction(t, 9, true),
        ".999999" => fraction(t, 6, true),
        ".999" => fraction(t, 3, true),
        ".000000000" => fraction(t, 9, false),
        ".000000" => fraction(t, 6, false),
        ".000" => fraction(t, 3, false),
        "2006" => format!("{:04}", t.year()),
        "Jan" => t.format("%b").to_string(),
        "Mon" => t.format("%a").to_string(),
        "MST" => "UTC".into(),
        "_2" => format!("{:>2}", t.day()),
        "01" => format!("{:02}", t.month()),
        "02" => format!("{:02}", t.day()),
        "03" => format!("{hour12:02}"),
        "04" => format!("{:02}", t.minute()),
        "05" => format!("{:02}", t.second()),
        "06" => format!("{:02}", t.year() % 100),
        "15" => format!("{:02}", t.hour()),
        "PM" => (if t.hour() >= 12 { "PM" } else { "AM" }).into(),
        "pm" => (if t.hour() >= 12 { "pm" } else { "am" }).into(),
        "1" => t.month().to_string(),
        "2" => t.day().to_string(),
        "3" => hour12.to_string(),
        "4" => t.minute().to_string(),
        _ => t.second().to_string(),
    }
}

/// `<time> [name ][(instance) ]text`, the trailing newline trimmed; no time when `layout` is empty.
pub fn plain(m: &LogMessage, layout: &str, columns: Columns) -> String {
    let mut out = String::new();
    if !layout.is_empty() {
        out.push_str(&format_go(&m.timestamp, layout));
        out.push(' ');
    }
    if columns.name {
        out.push_str(&m.name);
        out.push(' ');
    }
    if columns.instance {
        out.push_str(&format!("({}) ", m.instance));
    }
    out.push_str(m.text.trim_end_matches('\n'));
    out
}

/// `timestamp="…" name="…" instance="…" text="…" ` (with faas-cli's trailing space).
pub fn keyvalue(m: &LogMessage, layout: &str) -> String {
    let q = |s: &str| serde_json::to_string(s).unwrap_or_default();
    format!(
        "timestamp={} name={} instance={} text={} ",
        q(&format_go(&m.timestamp, layout)),
        q(&m.name),
        q(&m.instance),
        q(m.text.trim_end_matches('\n'))
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg() -> LogMessage {
        LogMessage {
            name: "fn".into(),
            namespace: "openfaas-fn".into(),
            instance: "fn-1".into(),
            timestamp: DateTime::parse_from_rfc3339("2024-01-02T15:04:05.123400Z").unwrap().with_timezone(&Utc),
            text: "Forked fprocess 1\n".into(),
        }
    }

    #[test]
    fn go_layouts() {
        let t = msg().timestamp;
        assert_eq!(format_go(&t, layout("rfc3339")), "2024-01-02T15:04:05Z");
        assert_eq!(format_go(&t, layout("RFC3339Nano")), "2024-01-02T15:04:05.1234Z");
        assert_eq!(format_go(&t, layout("ansic")), "Tue Jan  2 15:04:05 2024");
        assert_eq!(format_go(&t, layout("rfc1123z")), "Tue, 02 Jan 2024 15:04:05 +0000");
        assert_eq!(format_go(&t, "2006-01-02 15:04:05.000"), "2024-01-02 15:04:05.123");
        assert_eq!(format_go(&t, "3:04PM"), "3:04PM");
    }

    #[test]
    fn plain_and_keyvalue_lines() {
        let m = msg();
        assert_eq!(plain(&m, layout("rfc3339"), Columns::default()), "2024-01-02T15:04:05Z Forked fprocess 1");
        assert_eq!(plain(&m, "", Columns { name: true, instance: true }), "fn (fn-1) Forked fprocess 1");
        assert_eq!(
            keyvalue(&m, layout("rfc3339")),
            "timestamp=\"2024-01-02T15:04:05Z\" name=\"fn\" instance=\"fn-1\" text=\"Forked fprocess 1\" "
        );
    }
}
