//! A raw NATS client side for the tests: lines in, bytes out, every read with a deadline.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

pub const STEP: Duration = Duration::from_secs(10);

pub struct Raw {
    pub stream: BufReader<TcpStream>,
}

impl Raw {
    pub async fn connect(addr: SocketAddr) -> Raw {
        let stream = tokio::time::timeout(STEP, TcpStream::connect(addr))
            .await
            .expect("connect timed out")
            .expect("connect failed");
        Raw {
            stream: BufReader::new(stream),
        }
    }

    /// The next line without its CRLF; panics on EOF or after the deadline.
    pub async fn line(&mut self) -> String {
        self.try_line(STEP)
            .await
            .expect("read timed out")
            .expect("connection closed")
    }

    /// `Err` on timeout, `Ok(None)` on EOF (or reset).
    pub async fn try_line(&mut self, wait: Duration) -> Result<Option<String>, ()> {
        let mut line = String::new();
        match tokio::time::timeout(wait, self.stream.read_line(&mut line)).await {
            Err(_) => Err(()),
            Ok(Ok(0)) | Ok(Err(_)) => Ok(None),
            Ok(Ok(_)) => Ok(Some(line.trim_end_matches(['\r', '\n']).to_owned())),
        }
    }

    /// Read until EOF or an error; returns the error kind (None for a clean EOF).
    pub async fn closed(&mut self, wait: Duration) -> Option<std::io::ErrorKind> {
        let mut scratch = [0u8; 1024];
        loop {
            match tokio::time::timeout(wait, self.stream.read(&mut scratch))
                .await
                .expect("connection still open")
            {
                Ok(0) => return None,
                Ok(_) => {}
                Err(e) => return Some(e.kind()),
            }
        }
    }

    pub async fn send(&mut self, bytes: &[u8]) {
        self.stream.get_mut().write_all(bytes).await.unwrap();
    }

    /// Read INFO, send CONNECT + PING, return (INFO json, answer line: "PONG" or "-ERR ...").
    pub async fn handshake(&mut self, connect: serde_json::Value) -> (serde_json::Value, String) {
        let info = self.line().await;
        let info: serde_json::Value =
            serde_json::from_str(info.strip_prefix("INFO ").expect("INFO first")).unwrap();
        self.send(format!("CONNECT {connect}\r\nPING\r\n").as_bytes())
            .await;
        let answer = self.line().await;
        (info, answer)
    }
}

pub fn plain_connect() -> serde_json::Value {
    serde_json::json!({"verbose": false, "pedantic": false, "protocol": 1})
}

pub fn user_connect(user: &str, pass: &str) -> serde_json::Value {
    serde_json::json!({"verbose": false, "protocol": 1, "user": user, "pass": pass})
}

/// Whether a process with this PID exists (zombies included), like `kill(pid, 0)`.
pub fn pid_alive(pid: u32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}
