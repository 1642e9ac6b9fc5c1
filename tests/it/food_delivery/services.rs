//! The stack's backing services as the tests use them: the shared MariaDB and Redis that
//! tests/env/setup.sh starts, each test taking a database (or Redis DB number) of its own and
//! giving it back, and private `redis-server` / `mariadbd` instances that a test may stop and
//! start without disturbing anyone else. Everything goes through the `mariadb`, `redis-cli`,
//! `redis-server` and `mariadbd` programs setup.sh installs, so no client crate is needed.

use std::io::Write;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::environment::test_env;

/// What to do when a service is missing; every failure about a service ends with it.
pub const HINT: &str = "run `sudo bash tests/env/setup.sh` to start the Docker engine and test services";

/// A random lowercase hex name part, so that parallel tests and test runs never share a name.
pub fn unique() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..12].to_string()
}

/// A MariaDB server on 127.0.0.1 and an account on it that may create databases and users.
#[derive(Clone)]
pub struct Mariadb {
    pub host: String,
    pub port: u16,
    user: String,
    password: String,
}

impl Mariadb {
    /// The shared server; fails the test, naming setup.sh, when it is not answering.
    pub fn shared() -> Mariadb {
        let env = test_env();
        let server = Mariadb {
            host: env["RFAAS_TEST_MYSQL_HOST"].clone(),
            port: env["RFAAS_TEST_MYSQL_PORT"].parse().expect("RFAAS_TEST_MYSQL_PORT"),
            user: env["RFAAS_TEST_MYSQL_USER"].clone(),
            password: env["RFAAS_TEST_MYSQL_PASSWORD"].clone(),
        };
        if let Err(e) = server.try_sql(None, "SELECT 1") {
            panic!("MariaDB on {}:{} is not answering ({e}): {HINT}", server.host, server.port);
        }
        server
    }

    /// Runs SQL (fed on stdin, so whole files work) and returns the rows, tab-separated.
    pub fn try_sql(&self, database: Option<&str>, sql: &str) -> Result<String, String> {
        let mut cmd = Command::new("mariadb");
        cmd.args(["--protocol=tcp", "--batch", "--skip-column-names", "--connect-timeout=5"])
            .args(["-h", &self.host, "-P", &self.port.to_string(), "-u", &self.user])
            // The password in the environment, not in argv where `ps` shows it.
            .env("MYSQL_PWD", &self.password);
        if let Some(db) = database {
            cmd.arg(db);
        }
        let out = feed(&mut cmd, sql).map_err(|e| format!("cannot run the mariadb client ({e}): {HINT}"))?;
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).trim().to_string());
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    #[track_caller]
    pub fn sql(&self, database: Option<&str>, sql: &str) -> String {
        self.try_sql(database, sql).unwrap_or_else(|e| panic!("SQL failed: {e}\n{sql}"))
    }
}

fn feed(cmd: &mut Command, input: &str) -> std::io::Result<std::process::Output> {
    let mut child = cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn()?;
    child.stdin.take().expect("stdin").write_all(input.as_bytes())?;
    child.wait_with_output()
}

/// A database `food_it_<random>` with schema.sql loaded, and a user of the same name that has
/// rights on it alone (what the functions log in as, with the password given to them as the
/// `food-db-password` secret). Both are dropped with the guard.
pub struct TestDatabase {
    server: Mariadb,
    pub name: String,
    pub password: String,
    stack_dir: &'static str,
}

impl TestDatabase {
    pub fn create(server: &Mariadb) -> TestDatabase {
        TestDatabase::create_for(server, "food_it", super::stack::STACK_DIR)
    }

    /// A database `<prefix>_<random>` (and its user) with `<stack_dir>/schema.sql` loaded.
    pub fn create_for(server: &Mariadb, prefix: &str, stack_dir: &'static str) -> TestDatabase {
        let name = format!("{prefix}_{}", unique());
        let db = TestDatabase { server: server.clone(), name, password: unique(), stack_dir };
        // The functions connect from the host network as user@127.0.0.1.
        server.sql(
            None,
            &format!(
                "CREATE DATABASE `{n}` CHARACTER SET utf8mb4;
                 CREATE USER '{n}'@'127.0.0.1' IDENTIFIED BY '{p}';
                 GRANT ALL PRIVILEGES ON `{n}`.* TO '{n}'@'127.0.0.1';",
                n = db.name,
                p = db.password
            ),
        );
        db.load("schema.sql");
        db
    }

    /// Runs a file of the stack's folder (schema.sql, seed.sql) in this database.
    pub fn load(&self, file: &str) {
        let path = Path::new(self.stack_dir).join(file);
        let sql = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        self.sql(&sql);
    }

    #[track_caller]
    pub fn sql(&self, sql: &str) -> String {
        self.server.sql(Some(&self.name), sql)
    }

    /// The single value a query returns.
    #[track_caller]
    pub fn value(&self, sql: &str) -> String {
        self.sql(sql).trim().to_string()
    }

    #[track_caller]
    pub fn count(&self, sql: &str) -> u64 {
        let text = self.value(sql);
        text.parse().unwrap_or_else(|_| panic!("not a count: {text:?} from {sql}"))
    }

    /// The stack's `${VAR:-default}` variables that point the MySQL functions at this database.
    pub fn stack_env(&self) -> Vec<(String, String)> {
        [
            ("MYSQL_HOST", self.server.host.clone()),
            ("MYSQL_PORT", self.server.port.to_string()),
            ("MYSQL_USER", self.name.clone()),
            ("MYSQL_DATABASE", self.name.clone()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let n = &self.name;
        let _ = self
            .server
            .try_sql(None, &format!("DROP DATABASE IF EXISTS `{n}`; DROP USER IF EXISTS '{n}'@'127.0.0.1';"));
    }
}

/// One numbered database of a Redis server, held by one test at a time.
///
/// Claiming is one Lua script (atomic in Redis): take the DB only when no live claim key is in
/// it, and empty it, so concurrent tests and test runs never share aggregates. The claim expires
/// by itself if a test run dies before releasing it.
pub struct RedisDb {
    pub port: u16,
    pub db: u8,
    token: String,
}

const CLAIM_KEY: &str = "rfaas-it:claimed-by";
const CLAIM: &str = "if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end \
     redis.call('FLUSHDB') redis.call('SET', KEYS[1], ARGV[1], 'EX', 900) return 1";
const RELEASE: &str = "if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('FLUSHDB') end return 1";

impl RedisDb {
    /// A free DB among 9..=14 on the shared server (0 is the developer's, low numbers other tests').
    pub fn claim_shared() -> RedisDb {
        let env = test_env();
        let port = env["RFAAS_TEST_REDIS_PORT"].parse().expect("RFAAS_TEST_REDIS_PORT");
        let token = unique();
        for db in 9..=14 {
            let claimed = RedisDb { port, db, token: String::new() };
            if claimed.cli(&["EVAL", CLAIM, "1", CLAIM_KEY, &token]).trim() == "1" {
                return RedisDb { port, db, token };
            }
        }
        panic!("Redis DBs 9 to 14 on 127.0.0.1:{port} are all claimed by other test runs");
    }

    /// `redis-cli` against this DB; fails the test when Redis does not answer.
    #[track_caller]
    pub fn cli(&self, args: &[&str]) -> String {
        redis_cli(self.port, self.db, args).unwrap_or_else(|e| panic!("{e}"))
    }
}

impl Drop for RedisDb {
    fn drop(&mut self) {
        if !self.token.is_empty() {
            let _ = redis_cli(self.port, self.db, &["EVAL", RELEASE, "1", CLAIM_KEY, &self.token]);
        }
    }
}

fn redis_cli(port: u16, db: u8, args: &[&str]) -> Result<String, String> {
    let out = Command::new("redis-cli")
        .args(["-h", "127.0.0.1", "-p", &port.to_string(), "-n", &db.to_string()])
        .args(args)
        .output()
        .map_err(|e| format!("cannot run redis-cli ({e}): {HINT}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    // redis-cli exits 0 on some server errors; a refused connection says so on stderr.
    if !out.status.success() || stdout.starts_with("ERR") || !out.stderr.is_empty() {
        return Err(format!(
            "Redis on 127.0.0.1:{port} failed `{}`: {}{}: {HINT}",
            args.first().unwrap_or(&""),
            stdout.trim(),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(stdout)
}

/// A TCP port on 127.0.0.1 that was free a moment ago.
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("addr").port()
}

/// Polls `ready` every 100 ms for up to `timeout`; fails with `what` and the log when the child
/// exits or time runs out.
fn wait_until(child: &mut Child, what: &str, log: &Path, timeout: Duration, mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if ready() {
            return;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("{what} exited with {status}:\n{}", std::fs::read_to_string(log).unwrap_or_default());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("{what} did not answer within {timeout:?}:\n{}", std::fs::read_to_string(log).unwrap_or_default());
}

/// SIGTERM (a clean shutdown, as a service manager's restart does) and wait for the exit.
fn terminate(child: &mut Option<Child>) {
    let Some(mut c) = child.take() else { return };
    let pid = libc::pid_t::try_from(c.id()).expect("pid");
    // SAFETY: kill(2) on the pid of a child we spawned and have not reaped yet.
    unsafe { libc::kill(pid, libc::SIGTERM) };
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = c.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = c.kill();
    let _ = c.wait();
}

fn kill(child: &mut Option<Child>) {
    if let Some(mut c) = child.take() {
        let _ = c.kill();
        let _ = c.wait();
    }
}

fn spawn<S: AsRef<std::ffi::OsStr>>(program: &str, args: &[S], log: &Path) -> Child {
    let out = std::fs::OpenOptions::new().create(true).append(true).open(log).expect("log file");
    Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(out.try_clone().expect("log file"))
        .stderr(out)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {program} ({e}): {HINT}"))
}

/// A `redis-server` of the test's own (no persistence) on a free port; [`OwnRedis::stop`] and
/// [`OwnRedis::start`] restart it on the same port.
pub struct OwnRedis {
    pub port: u16,
    dir: tempfile::TempDir,
    child: Option<Child>,
}

impl OwnRedis {
    pub fn launch() -> OwnRedis {
        let mut redis = OwnRedis { port: free_port(), dir: tempfile::tempdir().expect("temp dir"), child: None };
        redis.start();
        redis
    }

    pub fn start(&mut self) {
        let (port, dir) = (self.port.to_string(), self.dir.path().display().to_string());
        let args = ["--bind", "127.0.0.1", "--port", &port, "--dir", &dir, "--save", "", "--appendonly", "no"];
        let log = self.dir.path().join("redis.log");
        let mut child = spawn("redis-server", &args, &log);
        let port = self.port;
        let ping = || redis_cli(port, 0, &["PING"]).is_ok_and(|r| r.trim() == "PONG");
        wait_until(&mut child, "redis-server", &log, Duration::from_secs(20), ping);
        self.child = Some(child);
    }

    pub fn stop(&mut self) {
        terminate(&mut self.child);
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        kill(&mut self.child);
    }
}

/// A `mariadbd` of the test's own: a fresh datadir in a temp dir, a free port, and an admin
/// account over TCP (created through root's unix socket). [`OwnMariadb::stop`] and
/// [`OwnMariadb::start`] restart it on the same datadir and port, so data survives.
pub struct OwnMariadb {
    pub server: Mariadb,
    dir: tempfile::TempDir,
    child: Option<Child>,
}

/// Small InnoDB files: the default redo log alone is ~100 MB, written on every install.
const MARIADB_SIZES: [&str; 2] = ["--innodb-buffer-pool-size=32M", "--innodb-log-file-size=8M"];

impl OwnMariadb {
    pub fn launch() -> OwnMariadb {
        let dir = tempfile::tempdir().expect("temp dir");
        let data = dir.path().join("data");
        let log = dir.path().join("install.log");
        let mut install = Command::new("mariadb-install-db");
        install
            .arg("--no-defaults")
            .arg(format!("--datadir={}", data.display()))
            .args(["--skip-test-db", "--auth-root-authentication-method=socket"])
            .args(MARIADB_SIZES)
            .args(run_as());
        let out = install.output().unwrap_or_else(|e| panic!("cannot run mariadb-install-db ({e}): {HINT}"));
        std::fs::write(&log, [out.stdout.as_slice(), out.stderr.as_slice()].concat()).expect("log");
        assert!(out.status.success(), "mariadb-install-db failed:\n{}", std::fs::read_to_string(&log).unwrap());

        let server =
            Mariadb { host: "127.0.0.1".into(), port: free_port(), user: "it_admin".into(), password: unique() };
        let mut own = OwnMariadb { server, dir, child: None };
        own.start();
        let admin = format!(
            "CREATE USER 'it_admin'@'127.0.0.1' IDENTIFIED BY '{}';
             GRANT ALL PRIVILEGES ON *.* TO 'it_admin'@'127.0.0.1' WITH GRANT OPTION;",
            own.server.password
        );
        let out = feed(&mut own.root(), &admin).expect("mariadb client");
        assert!(out.status.success(), "creating the admin user: {}", String::from_utf8_lossy(&out.stderr));
        own
    }

    fn socket(&self) -> String {
        self.dir.path().join("mysqld.sock").display().to_string()
    }

    /// The client over the unix socket as the account mariadb-install-db made for whoever ran
    /// it (root, or the invoking user), which logs in without a password: socket authentication.
    fn root(&self) -> Command {
        let user = if is_root() { "root".to_string() } else { std::env::var("USER").unwrap_or_default() };
        let mut cmd = Command::new("mariadb");
        cmd.args(["--protocol=socket", "-S", &self.socket(), "-u", &user, "--batch"]);
        cmd
    }

    pub fn start(&mut self) {
        let dir = self.dir.path();
        let mut args: Vec<String> = vec![
            "--no-defaults".into(),
            format!("--datadir={}", dir.join("data").display()),
            format!("--socket={}", self.socket()),
            format!("--pid-file={}", dir.join("mariadbd.pid").display()),
            format!("--log-error={}", dir.join("mariadbd.err").display()),
            format!("--port={}", self.server.port),
            "--bind-address=127.0.0.1".into(),
            "--skip-name-resolve".into(),
            "--character-set-server=utf8mb4".into(),
        ];
        args.extend(MARIADB_SIZES.map(String::from));
        args.extend(run_as());
        let mut child = spawn("mariadbd", &args, &dir.join("mariadbd.out"));
        let server = self.server.clone();
        let mut probe = self.root();
        // Before launch() made the admin user, only the socket answers for us.
        let ready = move || {
            server.try_sql(None, "SELECT 1").is_ok() || feed(&mut probe, "SELECT 1").is_ok_and(|o| o.status.success())
        };
        wait_until(&mut child, "mariadbd", &dir.join("mariadbd.err"), Duration::from_secs(60), ready);
        self.child = Some(child);
    }

    pub fn stop(&mut self) {
        terminate(&mut self.child);
    }
}

impl Drop for OwnMariadb {
    fn drop(&mut self) {
        kill(&mut self.child);
    }
}

/// mariadbd refuses to run as root unless told to; as anyone else it runs as that user.
fn run_as() -> Vec<String> {
    if is_root() { vec!["--user=root".into()] } else { Vec::new() }
}

fn is_root() -> bool {
    // SAFETY: geteuid(2) cannot fail and has no side effects.
    unsafe { libc::geteuid() == 0 }
}
