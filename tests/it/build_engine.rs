//! Builds on the real engine: failures show the failing step and the log's last lines, every
//! function still finishes, and a stack whose inputs did not change is not rebuilt.

use crate::engine;
use crate::support::Rfaas;

/// A stack of `names` using the dockerfile language, each with a tiny Dockerfile.
fn dockerfile_stack(names: &[&str], tag: &str) -> Rfaas {
    let rfaas = Rfaas::new();
    let mut stack = String::from("version: 1.0\nprovider:\n  name: openfaas\nfunctions:\n");
    for name in names {
        stack.push_str(&format!(
            "  {name}:\n    lang: dockerfile\n    handler: ./{name}\n    image: {}/{name}:{tag}\n",
            engine::PREFIX
        ));
        rfaas.file(&format!("{name}/Dockerfile"), "FROM debian:bookworm-slim\nCOPY msg.txt /msg.txt\n");
        rfaas.file(&format!("{name}/msg.txt"), name);
    }
    rfaas.file("stack.yaml", &stack);
    rfaas
}

async fn image_id(docker: &bollard::Docker, image: &str) -> String {
    docker.inspect_image(image).await.unwrap_or_else(|e| panic!("{image}: {e}")).id.unwrap()
}

#[tokio::test]
async fn an_unchanged_stack_is_not_rebuilt() {
    let docker = engine::docker().await;
    let tag = engine::unique("t");
    let names = ["one", "two", "three"];
    let rfaas = dockerfile_stack(&names, &tag);
    rfaas.run(&["build", "--parallel", "3"]).success().stderr_has("Built 3, unchanged 0, failed 0");
    let image = |n: &str| format!("{}/{n}:{tag}", engine::PREFIX);
    let _cleanup = engine::Images(names.iter().map(|n| image(n)).collect());
    let before = image_id(&docker, &image("two")).await;

    let again = rfaas.run(&["build"]);
    again.success().stderr_has("Built 0, unchanged 3, failed 0").stderr_has("two unchanged, skipping build");
    assert!(!again.stderr.contains("Step 1/"), "no Docker build may run:\n{}", again.stderr);
    assert_eq!(image_id(&docker, &image("two")).await, before);

    rfaas.file("two/msg.txt", "changed");
    rfaas.run(&["build"]).success().stderr_has("Built 1, unchanged 2, failed 0");
    assert_ne!(image_id(&docker, &image("two")).await, before);
    rfaas.run(&["build", "--build-arg", "X=1"]).success().stderr_has("Built 3, unchanged 0");
    rfaas.run(&["build", "--build-arg", "X=1", "--force"]).success().stderr_has("Built 3, unchanged 0");
}

#[tokio::test]
async fn a_broken_dockerfile_shows_the_failing_step_and_other_functions_finish() {
    engine::docker().await;
    let tag = engine::unique("t");
    let rfaas = dockerfile_stack(&["broken", "fine"], &tag);
    let _cleanup = engine::Images(vec![format!("{}/fine:{tag}", engine::PREFIX)]);
    rfaas.file("broken/Dockerfile", "FROM debian:bookworm-slim\nRUN echo about to fail\nRUN echo oops >&2 && exit 3\n");
    let run = rfaas.run(&["build", "--parallel", "2"]);
    // The failing step and its exit code, in the engine's words: Docker's `Step 3/4 : …` and
    // `returned a non-zero code: 3`, Podman's `STEP 3/4: …` and `exit status 3`.
    run.failure(1)
        .stderr_has_one_of(&[
            "broken failed: Step 3/4 : RUN echo oops >&2 && exit 3",
            "broken failed: STEP 3/4: RUN echo oops >&2 && exit 3",
        ])
        .stderr_has_one_of(&["returned a non-zero code: 3", "exit status 3"])
        .stderr_has("[broken] last ")
        .stderr_has("  oops")
        .stderr_has("fine built")
        .stderr_has("error: failed to build 1 of 2 functions: broken")
        .stderr_has("hint: ");
}

#[tokio::test]
async fn a_failing_function_test_fails_the_build_with_its_output() {
    let docker = engine::docker().await;
    let rfaas = Rfaas::new();
    let image = format!("{}/failing:{}", engine::PREFIX, engine::unique("t"));
    rfaas.run(&["new", "failing", "--lang", "python3-http", "-q"]).success();
    rfaas.file(
        "stack.yaml",
        &format!(
            "version: 1.0\nprovider:\n  name: openfaas\nfunctions:\n  failing:\n    lang: python3-http\n    handler: ./failing\n    image: {image}\n"
        ),
    );
    rfaas.file("failing/handler_test.py", "def test_the_answer():\n    assert 6 * 7 == 43\n");
    let run = rfaas.run(&["build", "--quiet"]);
    run.failure(1)
        .stderr_has("assert (6 * 7) == 43")
        .stderr_has("1 failed")
        .stderr_has("failed to build 1 of 1 functions");
    assert!(docker.inspect_image(&image).await.is_err(), "no image may be tagged");
}
