//! Function replicas listen on 127.0.0.1 only: with host networking, a replica listening on
//! every interface would be reachable from the network without going through the gateway.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use crate::engine;
use crate::support::gateway::{TestGateway, docker, echo_fn};

/// The addresses with a listening TCP socket on `port`, from the kernel's tables (the replicas
/// share the host's network namespace).
fn listeners(port: u16) -> Vec<IpAddr> {
    let mut out = Vec::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let text = std::fs::read_to_string(table).unwrap_or_default();
        for line in text.lines().skip(1) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let (Some(local), Some(&"0A")) = (fields.get(1), fields.get(3)) else { continue };
            let (addr, hex_port) = local.split_once(':').expect("address:port");
            if u16::from_str_radix(hex_port, 16) == Ok(port) {
                out.push(kernel_address(addr));
            }
        }
    }
    out
}

/// An address as /proc/net/tcp{,6} prints it: 32-bit words in host byte order.
fn kernel_address(hex: &str) -> IpAddr {
    let words: Vec<[u8; 4]> = (0..hex.len() / 8)
        .map(|i| u32::from_str_radix(&hex[i * 8..i * 8 + 8], 16).expect("hex").to_ne_bytes())
        .collect();
    match words.as_slice() {
        [w] => IpAddr::V4(Ipv4Addr::from(*w)),
        _ => IpAddr::V6(Ipv6Addr::from(<[u8; 16]>::try_from(words.concat()).expect("16 bytes"))),
    }
}

/// The host's own IPv4 addresses other than loopback (connections to them stay on the host).
fn other_local_addresses() -> Vec<IpAddr> {
    let mut out = Vec::new();
    let mut list: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs allocates a list that is only read here and freed below.
    if unsafe { libc::getifaddrs(&mut list) } != 0 {
        return out;
    }
    let mut cursor = list;
    while !cursor.is_null() {
        // SAFETY: cursor points into the list getifaddrs returned; ifa_addr is checked for null
        // and, for AF_INET, points to a sockaddr_in.
        let entry = unsafe { &*cursor };
        if !entry.ifa_addr.is_null() && i32::from(unsafe { (*entry.ifa_addr).sa_family }) == libc::AF_INET {
            let sin = unsafe { &*(entry.ifa_addr as *const libc::sockaddr_in) };
            let ip = Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr));
            if !ip.is_loopback() {
                out.push(IpAddr::V4(ip));
            }
        }
        cursor = entry.ifa_next;
    }
    // SAFETY: the list came from getifaddrs and is freed once.
    unsafe { libc::freeifaddrs(list) };
    out
}

/// The port the gateway gave the replica of `function` (its `com.rfaas.port` label).
async fn replica_port(gw: &TestGateway, function: &str) -> u16 {
    let docker = docker().await;
    let (_, id) = gw.containers().await.into_iter().find(|(f, _)| f == function).expect("a replica");
    let labels = docker.inspect_container(&id, None).await.unwrap().config.unwrap().labels.unwrap();
    labels["com.rfaas.port"].parse().unwrap()
}

#[tokio::test]
async fn replicas_of_every_bundled_template_listen_on_loopback_only() {
    let languages = ["python3-http", "node18", "golang-http", "dockerfile"];
    let gw = TestGateway::start().await;
    let built: Vec<(crate::support::Rfaas, String)> = std::thread::scope(|s| {
        let builds: Vec<_> = languages
            .iter()
            .map(|lang| {
                s.spawn(move || {
                    let (project, image) = crate::build_run::scaffold(lang);
                    project.run(&["build"]).success();
                    (project, image)
                })
            })
            .collect();
        builds.into_iter().map(|b| b.join().expect("build thread")).collect()
    });
    let _cleanup = engine::Images(built.iter().map(|(_, image)| image.clone()).collect());
    let others = other_local_addresses();
    for (lang, (_, image)) in languages.iter().zip(&built) {
        let (status, body) = gw.deploy(&echo_fn(lang, image)).await;
        assert_eq!(status, 202, "{lang}: {body}");
        assert_eq!(gw.invoke(lang).await.status(), 200, "{lang} answers through the gateway");
        let port = replica_port(&gw, lang).await;
        let listening = listeners(port);
        assert_eq!(listening, [IpAddr::V4(Ipv4Addr::LOCALHOST)], "{lang} listens on port {port} at {listening:?}");
        for ip in &others {
            let reached = std::net::TcpStream::connect_timeout(&SocketAddr::new(*ip, port), Duration::from_secs(2));
            let refused = reached.as_ref().is_err_and(|e| e.kind() == std::io::ErrorKind::ConnectionRefused);
            assert!(refused, "{lang} replica reachable at {ip}:{port}: {reached:?}");
        }
    }
}
