//! The gateway's own log lines on stderr: one timestamped line per event, so `gateway.log`
//! (background mode) and a terminal (foreground) read the same. Secrets never go through here.

fn line(level: &str, text: &str) {
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    crate::output::log_line(&format!("{now} {level} {text}"));
}

/// Something a user of the gateway wants to know happened.
pub fn info(text: &str) {
    line("info", text);
}

/// Something went wrong but the gateway carries on.
pub fn warn(text: &str) {
    line("warn", text);
}

/// A failure a request or a background task could not recover from.
pub fn error(text: &str) {
    line("error", text);
}
