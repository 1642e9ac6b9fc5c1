//! `--reset-qemu`: register qemu's binfmt handlers on the engine's host, as faas-cli does, by
//! running the privileged `multiarch/qemu-user-static --reset -p yes` container once.

use bollard::Docker;
use bollard::models::{ContainerCreateBody, HostConfig};
use bollard::query_parameters::{RemoveContainerOptionsBuilder, WaitContainerOptions};
use futures_util::StreamExt;

use crate::output::Printer;

/// The image faas-cli runs for `--reset-qemu`.
pub const QEMU_IMAGE: &str = "multiarch/qemu-user-static";

/// Runs the reset container and waits for it; the image must be in the engine already or
/// pullable.
pub async fn reset(docker: &Docker, printer: &Printer) -> anyhow::Result<()> {
    if docker.inspect_image(QEMU_IMAGE).await.is_err() {
        return Err(crate::error::with_hint(
            anyhow::anyhow!("--reset-qemu needs the {QEMU_IMAGE} image, which the engine does not have"),
            "pull it (`docker pull multiarch/qemu-user-static`), or register qemu on the host instead: \
             `apt-get install qemu-user-static binfmt-support`",
        ));
    }
    printer.status(&format!("Registering qemu with {QEMU_IMAGE} --reset -p yes"));
    let body = ContainerCreateBody {
        image: Some(QEMU_IMAGE.to_string()),
        cmd: Some(vec!["--reset".into(), "-p".into(), "yes".into()]),
        host_config: Some(HostConfig { privileged: Some(true), ..Default::default() }),
        ..Default::default()
    };
    let created = docker.create_container(None, body).await.map_err(|e| anyhow::anyhow!(super::engine_reason(&e)))?;
    let result = async {
        docker.start_container(&created.id, None).await?;
        let mut wait = docker.wait_container(&created.id, None::<WaitContainerOptions>);
        while let Some(status) = wait.next().await {
            status?;
        }
        Ok::<(), bollard::errors::Error>(())
    }
    .await;
    let remove = RemoveContainerOptionsBuilder::default().force(true).build();
    let _ = docker.remove_container(&created.id, Some(remove)).await;
    result.map_err(|e| anyhow::anyhow!("{QEMU_IMAGE} --reset failed: {}", super::engine_reason(&e)))
}
