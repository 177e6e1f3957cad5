//! The sender against a mock CLOB on a real socket: what the CLOB receives is exactly what
//! the pass wrote (whose bytes `tests/pipeline.rs` checks against the official clients), one
//! request at a time on one keep-alive connection, and the CLOB's answers are applied: a
//! refused leg is forgotten and quoted again, a matched one no longer rests.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use kairos_quoter::conn::Connection;
use kairos_quoter::fixed::SIZE_UNITS;
use kairos_quoter::pipeline::Pipeline;
use kairos_quoter::sender::send_pass;
use kairos_quoter::strategy::SpreadQuoter;
use tokio::io::AsyncWriteExt;

mod support;

use support::BOOK;

fn pipeline() -> Pipeline<SpreadQuoter> {
    support::pipeline_for("127.0.0.1", 10 * SIZE_UNITS, 9)
}

type Received = Arc<Mutex<Vec<Vec<u8>>>>;
type Answers = Arc<Mutex<std::collections::VecDeque<(u16, String)>>>;

/// A CLOB on one connection: records each whole request and gives the next queued answer.
async fn mock_clob() -> (std::net::SocketAddr, Received, Answers) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (received, answers): (Received, Answers) = Default::default();
    let (log, queue) = (received.clone(), answers.clone());
    tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.expect("accept");
        let mut buf = Vec::new();
        while let Some(request) = support::read_request(&mut socket, &mut buf).await {
            log.lock().expect("log").push(request.bytes);
            let (status, reply) = queue.lock().expect("answers").pop_front().expect("an answer queued");
            let response = format!(
                "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{reply}",
                reply.len()
            );
            socket.write_all(response.as_bytes()).await.expect("answer");
        }
    });
    (addr, received, answers)
}

fn request_line(request: &[u8]) -> String {
    String::from_utf8_lossy(request).lines().next().unwrap_or("").to_string()
}

#[tokio::test]
async fn the_clob_receives_the_pass_s_bytes_and_its_answers_are_applied() {
    let (addr, received, answers) = mock_clob().await;
    let stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    stream.set_nodelay(true).expect("nodelay");
    let mut conn = Connection::new(stream);
    let mut p = pipeline();

    // A book: both sides in one batch; the CLOB takes the bid and refuses the ask (a refused
    // leg of a batch is `success: true` with no order id).
    let read_at = Instant::now();
    let out = p.on_frame(BOOK.trim_end(), 1).expect("book");
    let written = out.bytes().to_vec();
    let bid_hash = format!("{}", out.placed()[0].hash);
    answers.lock().expect("answers").push_back((
        200,
        format!(r#"[{{"success":true,"orderID":"{bid_hash}","status":"live"}},{{"success":true,"orderID":"","errorMsg":"not enough balance / allowance"}}]"#),
    ));
    let sent = send_pass(&mut conn, &mut p, Some(read_at)).await.expect("sent");
    assert_eq!(received.lock().expect("log").concat(), written, "byte for byte what the pass wrote");
    assert_eq!((sent.requests, sent.resting, sent.refused), (1, 1, 1));
    assert!(sent.tick_to_order.is_some());
    let resting = p.engine().markets()[0].resting.clone();
    assert_eq!(resting.len(), 1, "the refused ask is forgotten");
    assert_eq!(p.outbox().hash_of(0, resting[0].id).map(|h| format!("{h}")), Some(bid_hash));

    // The same book again: the ask is missing, so it alone is placed, and matched at once.
    let out = p.on_frame(BOOK.trim_end(), 2).expect("book");
    let written = out.bytes().to_vec();
    let ask_hash = format!("{}", out.placed()[0].hash);
    answers
        .lock()
        .expect("answers")
        .push_back((200, format!(r#"{{"success":true,"orderID":"{ask_hash}","status":"matched","tradeIDs":["t1"]}}"#)));
    let sent = send_pass(&mut conn, &mut p, Some(Instant::now())).await.expect("sent");
    assert_eq!(received.lock().expect("log")[1], written);
    assert_eq!(request_line(&written), "POST /order HTTP/1.1");
    assert_eq!((sent.requests, sent.matched), (1, 1));
    assert_eq!(p.engine().markets()[0].resting.len(), 1, "a matched order no longer rests");
    assert_eq!(p.engine().markets()[0].inventory, -10 * SIZE_UNITS as i64, "the ask's 10 shares were sold");

    // A gap cancels the bid; the CLOB's not_canceled is counted.
    p.on_gap(3);
    answers
        .lock()
        .expect("answers")
        .push_back((200, r#"{"canceled":[],"not_canceled":{"0x1":"order not found"}}"#.into()));
    let sent = send_pass(&mut conn, &mut p, Some(Instant::now())).await.expect("sent");
    assert_eq!((sent.requests, sent.not_cancelled), (1, 1));
    assert_eq!(received.lock().expect("log").len(), 3, "three requests on one connection");
    assert_eq!(request_line(&received.lock().expect("log")[2]), "DELETE /orders HTTP/1.1");

    // The heartbeat: its answer's id is what the next beat carries.
    p.outbox_mut().write_heartbeat("");
    answers.lock().expect("answers").push_back((200, r#"{"heartbeat_id":"hb-1"}"#.into()));
    let sent = send_pass(&mut conn, &mut p, None).await.expect("sent");
    assert_eq!((sent.heartbeat_id.as_deref(), sent.tick_to_order), (Some("hb-1"), None));
    let beat = String::from_utf8(received.lock().expect("log")[3].clone()).expect("text");
    assert!(
        beat.starts_with("POST /v1/heartbeats HTTP/1.1\r\n") && beat.ends_with("\r\n\r\n{\"heartbeat_id\":\"\"}"),
        "{beat}"
    );

    // A place refused as a whole (a 503 in cancel-only mode): nothing rests.
    let out = p.on_frame(BOOK.trim_end(), 4).expect("book");
    assert_eq!(out.placed().len(), 2);
    answers.lock().expect("answers").push_back((503, r#"{"error":"trading is currently cancel-only"}"#.into()));
    let sent = send_pass(&mut conn, &mut p, Some(Instant::now())).await.expect("sent");
    assert_eq!(sent.refused, 2);
    assert!(p.engine().markets()[0].resting.is_empty());
}
