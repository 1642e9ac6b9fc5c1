//! Which uid:gid a function image runs as, so per-function secret copies can be owned by that
//! user with mode 0400 (readable inside the container, by nobody else on the host), and so files
//! the dev loop copies into a running replica belong to the user its server runs as.
//!
//! The image's `Config.User` may be empty (root), numeric (`1000`, `1000:1000`) or a name
//! (`app`, `app:app`). Names are resolved against the image's own `/etc/passwd` and `/etc/group`,
//! read through the archive API: from a created-but-never-started container for an image
//! ([`OwnerCache`], cached per image id), or from the running container itself
//! ([`resolve_in_container`]).

use std::collections::HashMap;
use std::io::Read;
use std::sync::Mutex;

use bollard::Docker;
use bollard::models::ContainerCreateBody;
use bollard::query_parameters::{DownloadFromContainerOptionsBuilder, RemoveContainerOptionsBuilder};
use futures_util::TryStreamExt;

/// A numeric owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Owner {
    pub uid: u32,
    pub gid: u32,
}

/// Cache of resolved owners by image id.
#[derive(Default)]
pub struct OwnerCache {
    by_image: Mutex<HashMap<String, Owner>>,
}

impl OwnerCache {
    /// The owner `image` runs as; errors name what could not be read.
    pub async fn resolve(&self, docker: &Docker, image: &str) -> Result<Owner, String> {
        let inspect = docker.inspect_image(image).await.map_err(|e| format!("cannot inspect image {image}: {e}"))?;
        let id = inspect.id.clone().unwrap_or_else(|| image.to_string());
        if let Some(owner) = self.by_image.lock().unwrap_or_else(|p| p.into_inner()).get(&id) {
            return Ok(*owner);
        }
        let user = inspect.config.and_then(|c| c.user).unwrap_or_default();
        let owner = resolve_user(docker, FileSource::Image(image), &user).await?;
        self.by_image.lock().unwrap_or_else(|p| p.into_inner()).insert(id, owner);
        Ok(owner)
    }
}

/// The owner a running `container` runs as (its `Config.User`, resolved in its own files).
pub async fn resolve_in_container(docker: &Docker, container: &str, user: &str) -> Result<Owner, String> {
    resolve_user(docker, FileSource::Container(container), user).await
}

/// Where `/etc/passwd` and `/etc/group` are read from.
#[derive(Clone, Copy)]
enum FileSource<'a> {
    /// An image, through a throwaway container that is never started.
    Image(&'a str),
    /// A container that exists already (running or not).
    Container(&'a str),
}

impl<'a> FileSource<'a> {
    async fn read(self, docker: &Docker, path: &str) -> Result<String, String> {
        match self {
            FileSource::Image(image) => read_image_file(docker, image, path).await,
            FileSource::Container(container) => read_container_file(docker, container, path)
                .await
                .ok_or_else(|| format!("{path} is not a readable file in container {container}")),
        }
    }

    fn name(self) -> &'a str {
        match self {
            FileSource::Image(name) | FileSource::Container(name) => name,
        }
    }
}

async fn resolve_user(docker: &Docker, source: FileSource<'_>, user: &str) -> Result<Owner, String> {
    let image = source.name();
    let (user_part, group_part) = match user.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (user, None),
    };
    if user_part.is_empty() || user_part == "root" {
        return Ok(Owner { uid: 0, gid: group_part.and_then(|g| g.parse().ok()).unwrap_or(0) });
    }
    let numeric_uid = user_part.parse::<u32>().ok();
    let numeric_gid = group_part.and_then(|g| g.parse::<u32>().ok());
    if let (Some(uid), Some(gid)) = (numeric_uid, numeric_gid) {
        return Ok(Owner { uid, gid });
    }
    let passwd = source.read(docker, "/etc/passwd").await.unwrap_or_default();
    let (uid, primary_gid) = match numeric_uid {
        Some(uid) => (uid, lookup_passwd_by_uid(&passwd, uid).unwrap_or(uid)),
        None => {
            lookup_passwd(&passwd, user_part).ok_or_else(|| format!("user {user_part} not in {image}'s /etc/passwd"))?
        }
    };
    let gid = match group_part {
        None => primary_gid,
        Some(g) => match g.parse::<u32>() {
            Ok(gid) => gid,
            Err(_) => {
                let groups = source.read(docker, "/etc/group").await.unwrap_or_default();
                lookup_group(&groups, g).ok_or_else(|| format!("group {g} not in {image}'s /etc/group"))?
            }
        },
    };
    Ok(Owner { uid, gid })
}

/// `(uid, gid)` of `name` in passwd-format text.
pub fn lookup_passwd(passwd: &str, name: &str) -> Option<(u32, u32)> {
    passwd.lines().find_map(|line| {
        let f: Vec<&str> = line.split(':').collect();
        (f.len() >= 4 && f[0] == name).then(|| Some((f[2].parse().ok()?, f[3].parse().ok()?))).flatten()
    })
}

fn lookup_passwd_by_uid(passwd: &str, uid: u32) -> Option<u32> {
    passwd.lines().find_map(|line| {
        let f: Vec<&str> = line.split(':').collect();
        (f.len() >= 4 && f[2].parse::<u32>().ok() == Some(uid)).then(|| f[3].parse().ok()).flatten()
    })
}

/// gid of `name` in group-format text.
pub fn lookup_group(groups: &str, name: &str) -> Option<u32> {
    groups.lines().find_map(|line| {
        let f: Vec<&str> = line.split(':').collect();
        (f.len() >= 3 && f[0] == name).then(|| f[2].parse().ok()).flatten()
    })
}

/// Reads one file from `image` via a container that is created, read and removed, never started.
async fn read_image_file(docker: &Docker, image: &str, path: &str) -> Result<String, String> {
    let body = ContainerCreateBody {
        image: Some(image.to_string()),
        entrypoint: Some(vec!["/nonexistent".to_string()]),
        network_disabled: Some(true),
        ..Default::default()
    };
    let created = docker.create_container(None, body).await.map_err(|e| e.to_string())?;
    let text = read_container_file(docker, &created.id, path).await;
    let remove = RemoveContainerOptionsBuilder::default().force(true).build();
    let _ = docker.remove_container(&created.id, Some(remove)).await;
    text.ok_or_else(|| format!("{path} is not a readable file in {image}"))
}

/// One file of a container's filesystem, through the archive API.
async fn read_container_file(docker: &Docker, container: &str, path: &str) -> Option<String> {
    let options = DownloadFromContainerOptionsBuilder::default().path(path).build();
    let archive: Vec<u8> = docker
        .download_from_container(container, Some(options))
        .try_fold(Vec::new(), |mut acc, chunk| async move {
            acc.extend_from_slice(&chunk);
            Ok(acc)
        })
        .await
        .ok()?;
    first_file_in_tar(&archive)
}

fn first_file_in_tar(bytes: &[u8]) -> Option<String> {
    let mut archive = tar::Archive::new(bytes);
    let mut entry = archive.entries().ok()?.next()?.ok()?;
    let mut text = String::new();
    entry.read_to_string(&mut text).ok()?;
    Some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwd_and_group_lookups() {
        let passwd = "root:x:0:0:root:/root:/bin/bash\napp:x:10001:10002::/home/app:/bin/sh\n";
        assert_eq!(lookup_passwd(passwd, "app"), Some((10001, 10002)));
        assert_eq!(lookup_passwd(passwd, "nobody"), None);
        assert_eq!(lookup_passwd_by_uid(passwd, 10001), Some(10002));
        assert_eq!(lookup_group("app:x:10002:\n", "app"), Some(10002));
    }
}
