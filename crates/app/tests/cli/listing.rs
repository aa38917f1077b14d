//! `host list`, `link list` and every option of `link add`, read back from a real SQLite
//! file; bad options get a non-zero exit and a message naming the option.

use super::{run_ok, slotkeeper, tempdir};

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

fn add_host(dir: &std::path::Path, name: &str, email: &str, zone: &str) -> String {
    run_ok(
        dir,
        &[],
        &[
            "host",
            "add",
            "--name",
            name,
            "--email",
            email,
            "--timezone",
            zone,
        ],
    )
}

#[test]
fn hosts_and_links_are_listed_with_every_setting_link_add_took() {
    let dir = tempdir("listing");
    let env = [("PUBLIC_BASE_URL", "https://book.example.com")];
    assert_eq!(run_ok(&dir, &env, &["host", "list", "--json"]), "[]");
    let yui = add_host(&dir, "Yui Tanaka", "yui@example.com", "Asia/Tokyo");
    let ana = add_host(&dir, "Ana Lima", "ana@example.com", "America/Sao_Paulo");
    let url = run_ok(
        &dir,
        &env,
        &[
            "link",
            "add",
            "--host",
            &yui,
            "--slug",
            "consult",
            "--title",
            "Consultation",
            "--description",
            "We look at your plan.\nBring numbers.",
            "--location",
            "https://meet.example.com/yui",
            "--question",
            "Company *",
            "--question",
            "Anything else?",
            "--create-deal",
            "--duration",
            "45",
            "--interval",
            "15",
            "--buffer-before",
            "5",
            "--buffer-after",
            "10",
            "--notice",
            "120",
            "--max-days-ahead",
            "30",
            "--days",
            "mon,tue",
            "--hours",
            "09:00-12:00,13:00-17:00",
            "--day-hours",
            "sat=10:00-14:00",
            "--date-hours",
            "2027-03-02=closed",
            "--date-hours",
            "2027-03-06=10:00-11:00",
            "--timezone",
            "Europe/Berlin",
            "--reconfirm-ask-minutes",
            "1440",
            "--reconfirm-deadline-minutes",
            "120",
        ],
    );
    assert_eq!(url, "https://book.example.com/book/consult");
    run_ok(
        &dir,
        &env,
        &[
            "link", "add", "--host", &ana, "--slug", "oi", "--title", "Oi",
        ],
    );

    let table = run_ok(&dir, &env, &["host", "list"]);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 3, "{table}");
    assert!(
        lines[0].starts_with("ID") && lines[0].contains("LINKS"),
        "{table}"
    );
    assert!(lines[1].starts_with(&ana), "by name: {table}");
    assert!(lines[2].starts_with(&yui), "{table}");
    for (line, expected) in [
        (
            lines[1],
            ["Ana Lima", "ana@example.com", "America/Sao_Paulo"],
        ),
        (lines[2], ["Yui Tanaka", "yui@example.com", "Asia/Tokyo"]),
    ] {
        for field in expected {
            assert!(line.contains(field), "{field} in {line}");
        }
        assert!(line.ends_with(" 1"), "one link each: {line}");
    }
    let hosts = json(&run_ok(&dir, &env, &["host", "list", "--json"]));
    assert_eq!(hosts[1]["id"], yui.as_str());
    assert_eq!(hosts[1]["time_zone"], "Asia/Tokyo");
    assert_eq!(hosts[1]["links"], 1);

    let all = run_ok(&dir, &env, &["link", "list"]);
    assert_eq!(all.lines().count(), 3, "{all}");
    assert!(all.contains("https://book.example.com/book/oi"), "{all}");
    let mine = run_ok(&dir, &env, &["link", "list", "--host", &yui]);
    assert_eq!(mine.lines().count(), 2, "only Yui's: {mine}");
    let row = mine.lines().nth(1).unwrap();
    for field in [
        "consult",
        "Consultation",
        "45",
        &yui,
        "https://book.example.com/book/consult",
    ] {
        assert!(row.contains(field), "{field} in {row}");
    }
    let links = json(&run_ok(
        &dir,
        &env,
        &["link", "list", "--host", &yui, "--json"],
    ));
    let link = &links[0];
    let expected = serde_json::json!({
        "host": yui,
        "slug": "consult",
        "title": "Consultation",
        "url": "https://book.example.com/book/consult",
        "description": "We look at your plan.\nBring numbers.",
        "location": "https://meet.example.com/yui",
        "time_zone": "Europe/Berlin",
        "duration_minutes": 45,
        "interval_minutes": 15,
        "buffer_before_minutes": 5,
        "buffer_after_minutes": 10,
        "minimum_notice_minutes": 120,
        "max_days_ahead": 30,
        "weekly_hours": {
            "mon": ["09:00-12:00", "13:00-17:00"],
            "tue": ["09:00-12:00", "13:00-17:00"],
            "sat": ["10:00-14:00"],
        },
        "date_hours": {"2027-03-02": [], "2027-03-06": ["10:00-11:00"]},
        "questions": [
            {"text": "Company", "required": true},
            {"text": "Anything else?", "required": false},
        ],
        "create_deal": true,
        "reconfirm_ask_minutes": 1440,
        "reconfirm_deadline_minutes": 120,
        "own_workflow": false,
    });
    for (key, value) in expected.as_object().unwrap() {
        assert_eq!(&link[key], value, "{key}: {link}");
    }

    // Replacing by slug keeps the id and takes the new settings.
    run_ok(
        &dir,
        &env,
        &[
            "link", "add", "--host", &yui, "--slug", "consult", "--title", "Short",
        ],
    );
    let again = json(&run_ok(
        &dir,
        &env,
        &["link", "list", "--host", &yui, "--json"],
    ));
    assert_eq!(again[0]["id"], link["id"]);
    assert_eq!(again[0]["questions"], serde_json::json!([]));
    assert_eq!(again[0]["description"], serde_json::Value::Null);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_link_options_are_refused_naming_the_option() {
    let dir = tempdir("link-options");
    let host = add_host(&dir, "Odo", "odo@example.com", "UTC");
    let long = "x".repeat(501);
    let many: Vec<String> = (0..21).map(|i| format!("Q{i}")).collect();
    let mut cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["--question", &long], "--question"),
        (vec!["--question", " "], "--question"),
        (vec!["--location", "Room 1\nFloor 2"], "--location"),
        (vec!["--description", "bell\u{7}"], "--description"),
        (vec!["--day-hours", "sun=9-5"], "--day-hours"),
        (vec!["--day-hours", "someday=09:00-10:00"], "--day-hours"),
        (vec!["--day-hours", "sat"], "--day-hours"),
        (vec!["--date-hours", "2027-13-01=closed"], "--date-hours"),
        (
            vec!["--date-hours", "2027-03-01=17:00-09:00"],
            "--date-hours",
        ),
        (vec!["--max-days-ahead", "0"], "--max-days-ahead"),
        (vec!["--buffer-before=-5"], "--buffer-before"),
        (vec!["--buffer-after", "999999999"], "--buffer-after"),
        (vec!["--notice", "9999999999999999"], "--notice"),
        (vec!["--interval", "0"], "--interval"),
        (vec!["--duration", "2000"], "--duration"),
        (vec!["--duration", "9223372036854775807"], "--duration"),
        (vec!["--timezone", "Mars/Olympus"], "--timezone"),
        (vec!["--slug", "Not A Slug"], "--slug"),
        (vec!["--title", " "], "--title"),
    ];
    let mut questions = Vec::new();
    for q in &many {
        questions.extend(["--question", q.as_str()]);
    }
    cases.push((questions, "--question"));
    for (extra, option) in cases {
        let mut args = vec![
            "link", "add", "--host", &host, "--slug", "ok", "--title", "Ok",
        ];
        args.extend(extra.iter().copied());
        let out = slotkeeper(&dir).args(&args).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{extra:?} was accepted");
        assert!(stderr.contains(option), "{extra:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{extra:?}: {stderr}");
    }
    let out = slotkeeper(&dir)
        .args([
            "link",
            "add",
            "--host",
            "00000000-0000-4000-8000-000000000000",
            "--slug",
            "ok",
            "--title",
            "Ok",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("host list"));
    let out = slotkeeper(&dir)
        .args(["link", "list", "--host", "nobody"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--host"));
    assert_eq!(
        run_ok(&dir, &[], &["link", "list", "--json"]),
        "[]",
        "nothing was saved"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn link_add_help_explains_the_question_syntax() {
    let dir = tempdir("link-help");
    let help = run_ok(&dir, &[], &["link", "add", "--help"]);
    for option in [
        "--description",
        "--location",
        "--question",
        "--create-deal",
        "--day-hours",
        "--date-hours",
        "--reconfirm-ask-minutes",
        "--reconfirm-deadline-minutes",
        "--buffer-before",
        "--notice",
        "--max-days-ahead",
        "--interval",
    ] {
        assert!(help.contains(option), "{option}: {help}");
    }
    assert!(help.contains("\"Company *\""), "{help}");
    std::fs::remove_dir_all(&dir).unwrap();
}
