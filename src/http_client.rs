//! What the CLI's outgoing HTTP requests share, beyond reqwest's defaults: bodies read with a
//! size cap, so a hostile server cannot make rfaas hold an endless response in memory.

/// Why a capped body could not be read.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    /// The body is over the cap: `Some(size)` from its Content-Length, before anything was read;
    /// `None` when it passed the cap while streaming.
    #[error("the response is {} bytes, over the limit of {cap} bytes", .size.map_or_else(|| format!("more than {cap}"), |n| n.to_string()))]
    TooLarge { size: Option<u64>, cap: usize },
    #[error("{}", crate::error::describe_reqwest(.0))]
    Transport(#[from] reqwest::Error),
}

/// Reads the body of `response`: an error before reading when its Content-Length is over `cap`,
/// and as soon as more than `cap` bytes have arrived otherwise (the rest is never read).
pub async fn read_capped(mut response: reqwest::Response, cap: usize) -> Result<Vec<u8>, BodyError> {
    if let Some(size) = response.content_length()
        && size > cap as u64
    {
        return Err(BodyError::TooLarge { size: Some(size), cap });
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        if body.len() + chunk.len() > cap {
            return Err(BodyError::TooLarge { size: None, cap });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}
