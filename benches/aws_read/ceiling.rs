//! The emulator's ceiling for vend's own request mix: the requests one `vend snapshot save`
//! sent, recorded by the emulator as they arrived (`"record": true`, `GET /_vend/recorded`:
//! method, URI, headers — vend's SigV4 signature, session tokens and `X-Amz-Target` included —
//! and body), sent again byte for byte over `IN_FLIGHT` keep-alive connections, each the next
//! request as soon as the last one answered. vend's requests are reads and STS calls, so sending
//! them again changes nothing the next read sees (org-formation's, replayed the same way, also
//! create its state bucket and put its state object again: the same bucket, the same object). The time from the first request to the last
//! answer gives the requests per second the emulator serves that mix at; vend's own rate is
//! compared with it (`aws_read.rs`).

use crate::emulator_harness::Emulator;
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Requests in flight while replaying (vend reads with `READ_CONCURRENCY` in flight).
pub const IN_FLIGHT: usize = 16;

/// One request as the emulator recorded it.
pub struct Recorded {
    method: String,
    uri: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

/// What one replay measured.
pub struct Replay {
    pub requests: usize,
    pub wall: Duration,
    /// Answers by HTTP status.
    pub statuses: BTreeMap<u16, usize>,
}

impl Replay {
    pub fn per_second(&self) -> f64 {
        self.requests as f64 / self.wall.as_secs_f64()
    }
}

/// Turn recording on (the stats are zeroed with it, so what follows is one client's run).
pub fn start_recording(emu: &Emulator) {
    let (status, body) = emu.http("POST", "/_vend/faults", r#"{"record": true}"#);
    assert_eq!(status, 200, "POST /_vend/faults record: {body}");
}

/// The requests recorded since the stats were last zeroed, and recording off again.
pub fn recorded(emu: &Emulator) -> Vec<Recorded> {
    let (status, body) = emu.http("GET", "/_vend/recorded", "");
    assert_eq!(status, 200, "GET /_vend/recorded: {body}");
    let (status, off) = emu.http("POST", "/_vend/faults", r#"{"record": false}"#);
    assert_eq!(status, 200, "POST /_vend/faults record off: {off}");
    let list: Vec<Value> = serde_json::from_str(&body).expect("the recorded requests as JSON");
    list.iter()
        .map(|r| Recorded {
            method: r["method"].as_str().unwrap_or("GET").to_string(),
            uri: r["uri"].as_str().unwrap_or("/").to_string(),
            headers: r["headers"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|h| Some((h[0].as_str()?.to_string(), h[1].as_str()?.to_string())))
                .collect(),
            body: unhex(r["body_hex"].as_str().unwrap_or("")),
        })
        .collect()
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len() / 2).filter_map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).ok()).collect()
}

/// Send `requests` again, `IN_FLIGHT` at a time, and time it.
pub fn replay(emu: &Emulator, requests: &[Recorded]) -> Replay {
    let next = AtomicUsize::new(0);
    let start = Instant::now();
    let statuses: Vec<BTreeMap<u16, usize>> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..IN_FLIGHT)
            .map(|_| {
                s.spawn(|| {
                    let mut seen: BTreeMap<u16, usize> = BTreeMap::new();
                    let mut conn: Option<Conn> = None;
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(r) = requests.get(i) else { break };
                        let c = conn.get_or_insert_with(|| Conn::open(emu.port));
                        let (status, keep) = match c.send(r) {
                            Ok(answer) => answer,
                            // The server closed an idle connection: once more on a new one.
                            Err(_) => {
                                *c = Conn::open(emu.port);
                                c.send(r).unwrap_or_else(|e| panic!("replaying {} {}: {e}", r.method, r.uri))
                            }
                        };
                        *seen.entry(status).or_default() += 1;
                        if !keep {
                            conn = None;
                        }
                    }
                    seen
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().expect("a replay worker")).collect()
    });
    let wall = start.elapsed();
    let mut merged: BTreeMap<u16, usize> = BTreeMap::new();
    for m in statuses {
        for (k, v) in m {
            *merged.entry(k).or_default() += v;
        }
    }
    Replay { requests: requests.len(), wall, statuses: merged }
}

/// One keep-alive HTTP/1.1 connection to the emulator.
struct Conn {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Conn {
    fn open(port: u16) -> Conn {
        let s = TcpStream::connect(("127.0.0.1", port)).expect("connect to the emulator");
        s.set_nodelay(true).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
        Conn { reader: BufReader::new(s.try_clone().unwrap()), writer: s }
    }

    /// Send `r`, read the whole answer: its status, and whether the connection stays open.
    fn send(&mut self, r: &Recorded) -> std::io::Result<(u16, bool)> {
        let mut head = format!("{} {} HTTP/1.1\r\n", r.method, r.uri);
        for (k, v) in &r.headers {
            if !k.eq_ignore_ascii_case("content-length") && !k.eq_ignore_ascii_case("connection") {
                head.push_str(&format!("{k}: {v}\r\n"));
            }
        }
        head.push_str(&format!("Content-Length: {}\r\n\r\n", r.body.len()));
        let mut msg = head.into_bytes();
        msg.extend_from_slice(&r.body);
        self.writer.write_all(&msg)?;

        let mut line = String::new();
        if self.reader.read_line(&mut line)? == 0 {
            return Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "connection closed"));
        }
        let status: u16 = line.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
        let (mut length, mut chunked, mut keep) = (0usize, false, true);
        loop {
            line.clear();
            self.reader.read_line(&mut line)?;
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            if let Some((k, v)) = l.split_once(':') {
                let (k, v) = (k.trim().to_ascii_lowercase(), v.trim());
                match k.as_str() {
                    "content-length" => length = v.parse().unwrap_or(0),
                    "transfer-encoding" => chunked = v.eq_ignore_ascii_case("chunked"),
                    "connection" => keep = !v.eq_ignore_ascii_case("close"),
                    _ => {}
                }
            }
        }
        if r.method == "HEAD" || status == 204 || status == 304 {
            return Ok((status, keep));
        }
        if chunked {
            loop {
                line.clear();
                self.reader.read_line(&mut line)?;
                let size =
                    usize::from_str_radix(line.trim().split(';').next().unwrap_or("0"), 16).unwrap_or(0);
                let mut chunk = vec![0u8; size + 2];
                self.reader.read_exact(&mut chunk)?;
                if size == 0 {
                    break;
                }
            }
        } else {
            let mut body = vec![0u8; length];
            self.reader.read_exact(&mut body)?;
        }
        Ok((status, keep))
    }
}
