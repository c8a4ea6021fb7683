//! `crmsync-bench`: run by `bench/run` (see bench/README.md). Prints a table
//! and writes bench/RESULTS.md with every figure beside its target.

use std::path::PathBuf;

use chrono::Utc;
use clap::{Parser, Subcommand};
use crmsync_bench::BenchError;
use crmsync_bench::engine_figures::{BOTH_CHANGED_TARGET, FIGURES, GROUP, micros_per_record};
use crmsync_bench::peers::PeerKind;
use crmsync_bench::report::{Report, Standing};
use crmsync_bench::scenarios::{
    dav, dav_events, graph, imap, memory, pages, profiles_per_box, push, scale_out, vdir, vdirsyncer,
};
use crmsync_bench::vdir_fs::VdirFs;
use crmsync_bench::world::Template;

#[derive(Parser)]
#[command(about = "crmsync benchmarks against the physical limit and against vdirsyncer")]
struct Args {
    #[command(subcommand)]
    command: Option<Cmd>,
    /// The full sizes: 3,000 contacts on servers, 100,000 to vdir,
    /// 10k, 50k and 200k contacts + as many events for memory. Takes long (hours on servers).
    #[arg(long)]
    full: bool,
    /// Contacts for the vdir benchmarks (default 3,000; --full 100,000).
    #[arg(long)]
    vdir_contacts: Option<usize>,
    /// Contacts of the second, larger vdir first sync (issue 17 lists
    /// 3,000 and 30,000; 0 skips it).
    #[arg(long, default_value_t = 30_000)]
    vdir_large_contacts: usize,
    /// Contacts for the Radicale/Xandikos/vdirsyncer benchmarks (default 1,000; --full 3,000).
    #[arg(long)]
    server_contacts: Option<usize>,
    /// Events (every tenth a weekly series) for the Radicale/Xandikos event
    /// benchmarks (default 200; --full 3,000).
    #[arg(long)]
    server_events: Option<usize>,
    /// Rounds of crmsync, raw, raw, crmsync for each server's contacts
    /// first-sync figure (R-BENCH-14; a round of 1,000 contacts takes about
    /// two minutes on Radicale).
    #[arg(long, default_value_t = 2)]
    dav_rounds: usize,
    /// Rounds of crmsync, raw, raw, crmsync for each server's events
    /// first-sync figure (R-BENCH-14; a round of 200 events takes about 12 s).
    #[arg(long, default_value_t = 4)]
    dav_event_rounds: usize,
    /// Only the Radicale and Xandikos first-sync and incremental figures
    /// (contacts and events): printed, the results file untouched.
    #[arg(long)]
    dav_only: bool,
    /// vdir profiles for the scale-out benchmark on PostgreSQL (default 200).
    #[arg(long, default_value_t = 200)]
    scale_profiles: usize,
    /// API edits for the push-latency benchmark (default 50; --full 200).
    #[arg(long)]
    push_edits: Option<usize>,
    /// Messages in the tracking folder for the IMAP first scan (default 1,000; --full 10,000).
    #[arg(long)]
    imap_messages: Option<usize>,
    /// Messages appended one by one for the IDLE latency (default 20; --full 100).
    #[arg(long)]
    idle_samples: Option<usize>,
    /// Contacts for the Graph test server benchmark (issue #15; default 3,000).
    #[arg(long, default_value_t = 3_000)]
    graph_contacts: usize,
    /// Meetings (every tenth a weekly series) for the Graph benchmark (default 1,000).
    #[arg(long, default_value_t = 1_000)]
    graph_events: usize,
    /// Only the Graph figures (in-process test server): to re-measure them
    /// alone; the report then holds those rows only, so give it another --out.
    #[arg(long)]
    graph_only: bool,
    /// Profiles on the dashboard's home page for the page figures (issue #16).
    #[arg(long, default_value_t = 1_000)]
    page_profiles: usize,
    /// Open conflicts on the dashboard's conflicts page (issue #16).
    #[arg(long, default_value_t = 500)]
    page_conflicts: usize,
    /// Timed requests per dashboard page.
    #[arg(long, default_value_t = 200)]
    page_requests: usize,
    /// Sizes of the memory benchmark, each N contacts + N events (default
    /// 10000,50000; --full adds 200000, the target's size); the growth
    /// between sizes shows whether the peak grows with N (R-SCALE-12).
    #[arg(long, value_delimiter = ',')]
    memory_sizes: Option<Vec<usize>>,
    /// Only the memory benchmark (no engine, vdir, servers, scale-out or push).
    #[arg(long)]
    memory_only: bool,
    /// Only the vdir first-sync figures (issue 17 item 3), beside the raw
    /// durable writer: printed, the results file untouched.
    #[arg(long)]
    vdir_only: bool,
    /// Rounds of crmsync, raw, raw, crmsync for the vdir first sync of
    /// --vdir-contacts (R-BENCH-15; the larger size runs one round).
    #[arg(long, default_value_t = 2)]
    vdir_rounds: usize,
    /// Skip the benchmarks that need Radicale, Xandikos and vdirsyncer.
    #[arg(long)]
    no_servers: bool,
    /// Skip the scale-out benchmark (it needs PostgreSQL: $CRMSYNC_TEST_POSTGRES_URL).
    #[arg(long)]
    no_postgres: bool,
    /// Only the whole-command comparison with vdirsyncer on Radicale and
    /// Xandikos: printed, the results file untouched.
    #[arg(long)]
    commands_only: bool,
    /// Only the IMAP figures (Dovecot): to re-measure them alone; the report
    /// then holds those rows only, so give it another --out.
    #[arg(long)]
    imap_only: bool,
    /// Where criterion wrote the engine benchmarks (`$CARGO_TARGET_DIR/criterion`).
    #[arg(long)]
    criterion_dir: Option<PathBuf>,
    /// The Markdown report to write.
    #[arg(long, default_value = "bench/RESULTS.md")]
    out: PathBuf,
}

#[derive(Subcommand)]
enum Cmd {
    /// Internal: one first sync in a fresh process, printing its peak RSS.
    #[command(hide = true)]
    MemoryChild {
        #[arg(long)]
        db: PathBuf,
        #[arg(long)]
        root: PathBuf,
        #[arg(long)]
        user: String,
        /// Holds SQLite's memory (its page caches) to this many bytes
        /// (`PRAGMA soft_heap_limit`), so caches that fill up to their
        /// bound are not taken for growth with N (R-SCALE-11).
        #[arg(long)]
        sqlite_heap_limit: Option<u64>,
    },
    /// Only the dashboard page figures (issue #16), printed, not written.
    Pages,
    /// Internal: one scale-out worker process (the scheduler as `crmsync worker` runs it).
    #[command(hide = true)]
    ScaleWorker {
        #[arg(long)]
        url: String,
        #[arg(long)]
        id: String,
        /// `scheduler.max_concurrent_runs` (default: the config's default).
        #[arg(long)]
        max_runs: Option<u64>,
    },
    /// Only the profiles-per-box figures (issue 17 item 5, R-SCALE-1),
    /// printed, not written: N stored vdir profiles kept in step by worker
    /// processes; runs/s, lag behind schedule p99, worker CPU and RSS.
    Profiles {
        /// Stored vdir profiles (one user and 3 contacts each).
        #[arg(long, default_value_t = 10_000)]
        profiles: usize,
        /// Worker processes.
        #[arg(long, default_value_t = 1)]
        workers: usize,
        /// Profiles per second due in the paced round (default: 10,000 per 5 minutes).
        #[arg(long, default_value_t = 10_000.0 / 300.0)]
        pace: f64,
        /// The workers' `scheduler.max_concurrent_runs` (default: the config's default).
        #[arg(long)]
        max_runs: Option<u64>,
        /// On PostgreSQL ($CRMSYNC_TEST_POSTGRES_URL) instead of one SQLite file.
        #[arg(long)]
        postgres: bool,
        /// DAV profiles, each its own user on one Radicale, instead of vdir ones.
        #[arg(long)]
        dav: bool,
    },
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    if let Err(e) = run(args).await {
        eprintln!("crmsync-bench: {e}");
        if e.is_transient() {
            eprintln!("(this may pass when run again)");
        }
        std::process::exit(1);
    }
}

async fn run(args: Args) -> Result<(), BenchError> {
    if let Some(Cmd::MemoryChild {
        db,
        root,
        user,
        sqlite_heap_limit,
    }) = &args.command
    {
        return memory::child(db, root, user, *sqlite_heap_limit).await;
    }
    if let Some(Cmd::ScaleWorker { url, id, max_runs }) = &args.command {
        return scale_out::worker_child(url, id, *max_runs).await;
    }
    if let Some(Cmd::Profiles {
        profiles,
        workers,
        pace,
        max_runs,
        postgres,
        dav,
    }) = &args.command
    {
        let sizes = profiles_per_box::Sizes {
            profiles: *profiles,
            workers: *workers,
            pace: *pace,
            max_runs: *max_runs,
            postgres: postgres.then(postgres_url).transpose()?,
            dav: *dav,
        };
        let mut report = Report::default();
        profiles_per_box_figures(&sizes, &mut report).await?;
        println!(
            "{}",
            report.markdown(
                "Profiles per box (`crmsync-bench profiles`), not written to the results.",
                None
            )
        );
        return Ok(());
    }
    let page_sizes = pages::Sizes {
        profiles: args.page_profiles,
        conflicts: args.page_conflicts,
        requests: args.page_requests,
    };
    if let Some(Cmd::Pages) = &args.command {
        println!(
            "== dashboard pages: {} profiles, {} conflicts",
            page_sizes.profiles, page_sizes.conflicts
        );
        return pages::run(&page_sizes, &mut Report::default()).await;
    }
    let vdir_n = args.vdir_contacts.unwrap_or(if args.full { 100_000 } else { 3_000 });
    let server_n = args.server_contacts.unwrap_or(if args.full { 3_000 } else { 1_000 });
    let events_n = args.server_events.unwrap_or(if args.full { 3_000 } else { 200 });
    let push_n = args.push_edits.unwrap_or(if args.full { 200 } else { 50 });
    let imap_n = args.imap_messages.unwrap_or(if args.full { 10_000 } else { 1_000 });
    let idle_n = args.idle_samples.unwrap_or(if args.full { 100 } else { 20 });
    let memory_sizes = match &args.memory_sizes {
        Some(sizes) => sizes.clone(),
        None if args.full => vec![10_000, 50_000, 200_000],
        None => vec![10_000, 50_000],
    };
    let memory_label = memory_sizes.iter().map(usize::to_string).collect::<Vec<_>>().join("/");
    let now = Utc::now();
    let load_at_start = load_average();
    let mut report = Report::default();

    if args.imap_only {
        println!("== imap: {imap_n} messages, {idle_n} IDLE samples (Dovecot)");
        imap::run(imap_n, idle_n, &mut report).await?;
        let header = format!(
            "Written by `bench/run --imap-only` on {} (imap {imap_n} messages + {idle_n} IDLE samples).",
            now.format("%Y-%m-%d %H:%M UTC")
        );
        return write_report(&args.out, &report, &header);
    }

    if args.graph_only {
        graph_figures(&args, now, &mut report).await?;
        let header = format!(
            "Written by `crmsync-bench --graph-only` on {} (graph {} contacts + {} events).",
            now.format("%Y-%m-%d %H:%M UTC"),
            args.graph_contacts,
            args.graph_events
        );
        return write_report(&args.out, &report, &header);
    }

    if args.commands_only {
        let template = Template::seed(server_n, 0, now).await?;
        whole_command_figures(&template, &mut report).await;
        println!(
            "{}",
            report.markdown(
                "Whole commands only (`--commands-only`), not written to the results.",
                None
            )
        );
        return Ok(());
    }

    if args.dav_only {
        dav_figures(&args, server_n, events_n, now, &mut report).await?;
        println!(
            "{}",
            report.markdown("DAV first syncs only (`--dav-only`), not written to the results.", None)
        );
        return Ok(());
    }

    if args.memory_only {
        // A quick look at one section: printed, bench/RESULTS.md untouched.
        memory_figures(&memory_sizes, now, &mut report).await?;
        println!(
            "{}",
            report.markdown("Memory only (`--memory-only`), not written to the results.", None)
        );
        return Ok(());
    }
    if args.vdir_only {
        vdir_figures(&args, vdir_n, now, &mut report).await?;
        println!(
            "{}",
            report.markdown("vdir only (`--vdir-only`), not written to the results.", None)
        );
        return Ok(());
    }
    println!("== engine (criterion, crates/engine/benches/per_record.rs)");
    engine(&args, &mut report);

    let vdir_fs = vdir_figures(&args, vdir_n, now, &mut report).await?;

    if args.no_servers {
        report.note("servers skipped (--no-servers)");
        for peer in [PeerKind::Radicale, PeerKind::Xandikos] {
            for what in ["contacts", "events"] {
                report.not_measured(
                    peer.name(),
                    format!("first sync {what}: crmsync / raw PUTs"),
                    "<= 1.02x raw",
                    "--no-servers",
                );
            }
        }
        for (name, target) in [
            ("no-change sync, whole commands: vdirsyncer / crmsync", ">= 10x faster"),
            (
                "1% change both sides, whole commands: vdirsyncer / crmsync",
                ">= 5x faster",
            ),
        ] {
            report.not_measured("vdirsyncer", name, target, "--no-servers");
        }
    } else {
        let template = dav_contact_figures(&args, server_n, now, &mut report).await?;
        whole_command_figures(&template, &mut report).await;
        drop(template);
        dav_event_figures(&args, events_n, now, &mut report).await?;
    }

    if args.no_servers {
        for (name, target) in [
            ("first scan: crmsync / raw FETCH", "<= 1.2x raw"),
            ("no-change run: IMAP commands per tracked folder", "1 (CONDSTORE)"),
            ("IDLE: APPEND until CRM e-mail, p99", "<= 2000 ms"),
        ] {
            report.not_measured("imap", name, target, "--no-servers");
        }
    } else {
        println!("== imap: {imap_n} messages, {idle_n} IDLE samples (Dovecot)");
        imap::run(imap_n, idle_n, &mut report).await?;
    }

    graph_figures(&args, now, &mut report).await?;

    println!("== scale-out: {} vdir profiles on PostgreSQL", args.scale_profiles);
    scale_out_figures(&args, &mut report).await?;

    profiles_figures(&args, &mut report).await?;

    println!("== push latency: {push_n} API edits");
    push::run(push_n, &mut report).await?;

    println!(
        "== dashboard pages: {} profiles, {} conflicts",
        page_sizes.profiles, page_sizes.conflicts
    );
    pages::run(&page_sizes, &mut report).await?;

    memory_figures(&memory_sizes, now, &mut report).await?;

    let header = format!(
        "Written by `bench/run` on {} ({}; vdir {vdir_n} and {} (folders on {vdir_fs}), servers {server_n} contacts + {events_n} events, \
         imap {imap_n} messages + {idle_n} IDLE samples, graph {} contacts + {} events, scale-out {} profiles, push {push_n} edits, memory {memory_label} contacts + as many events{}). \
         Ratios are measured side by side in one run; absolute times are context only. \
         `MISSED` marks a target crmsync does not reach yet.",
        now.format("%Y-%m-%d %H:%M UTC"),
        machine_and_load(&load_at_start),
        args.vdir_large_contacts,
        args.graph_contacts,
        args.graph_events,
        args.scale_profiles,
        if args.full { ", --full" } else { "" }
    );
    write_report(&args.out, &report, &header)
}

/// The vdir first sync of `vdir_n` contacts (`--vdir-rounds` rounds of
/// R-BENCH-15) and of `--vdir-large-contacts`, each beside the raw durable
/// writer, each size on a file system of its own (R-BENCH-12); answers what
/// the file system was, for the header.
async fn vdir_figures(
    args: &Args,
    vdir_n: usize,
    now: chrono::DateTime<Utc>,
    report: &mut Report,
) -> Result<String, BenchError> {
    println!("== vdir: {vdir_n} contacts, {} rounds", args.vdir_rounds);
    let template = Template::seed(vdir_n, 0, now).await?;
    let fs = VdirFs::prepare(vdir_n, vdir::folders_of(args.vdir_rounds))?;
    let journalled = fs.is_journalled_image();
    let mut on = vec![format!("{vdir_n}: {}", fs.description())];
    vdir::run(&template, &fs, args.vdir_rounds, report).await?;
    drop(fs);
    if journalled {
        println!("== vdir: {vdir_n} contacts in the temp folder, for comparison");
        beside_in_temp_folder(&template, args.vdir_rounds, report).await?;
    }
    drop(template);
    if args.vdir_large_contacts > 0 {
        let large = args.vdir_large_contacts;
        println!("== vdir: {large} contacts, first sync, 1 round");
        let template = Template::seed(large, 0, now).await?;
        let fs = VdirFs::prepare(large, vdir::folders_of(1))?;
        on.push(format!("{large}: {}", fs.description()));
        vdir::first_sync_only(&template, &fs, 1, report).await?;
        let journalled = fs.is_journalled_image();
        drop(fs);
        if journalled {
            println!("== vdir: {large} contacts in the temp folder, for comparison");
            beside_in_temp_folder(&template, 1, report).await?;
        }
    }
    let on = on.join("; ");
    report.note(format!(
        "vdir figures' folders (crmsync's and the raw writer's) on {on} (R-BENCH-12)"
    ));
    Ok(on)
}

/// The first-sync figure again in the temp folder, on the file system the
/// rows ran on before R-BENCH-12, so both stand in the table.
async fn beside_in_temp_folder(template: &Template, rounds: usize, report: &mut Report) -> Result<(), BenchError> {
    let fs = VdirFs::temp_folder()?;
    vdir::first_sync_only(template, &fs, rounds, report).await
}

/// crmsync and vdirsyncer as whole commands on both servers; a tool that
/// cannot run leaves its rows "not measured" with the reason, not the run.
/// The DAV first-sync figures of contacts and of events, each on Radicale
/// and Xandikos, with the contacts' incremental figures.
async fn dav_figures(
    args: &Args,
    server_n: usize,
    events_n: usize,
    now: chrono::DateTime<Utc>,
    report: &mut Report,
) -> Result<(), BenchError> {
    drop(dav_contact_figures(args, server_n, now, report).await?);
    dav_event_figures(args, events_n, now, report).await
}

/// The contacts' figures on both servers; returns the seeded CRM for the
/// whole-command figures.
async fn dav_contact_figures(
    args: &Args,
    server_n: usize,
    now: chrono::DateTime<Utc>,
    report: &mut Report,
) -> Result<Template, BenchError> {
    let template = Template::seed(server_n, 0, now).await?;
    for peer in [PeerKind::Radicale, PeerKind::Xandikos] {
        println!("== {}: {server_n} contacts, {} rounds", peer.name(), args.dav_rounds);
        dav::run(peer, &template, args.dav_rounds, report).await?;
    }
    Ok(template)
}

async fn dav_event_figures(
    args: &Args,
    events_n: usize,
    now: chrono::DateTime<Utc>,
    report: &mut Report,
) -> Result<(), BenchError> {
    let template = Template::seed(0, events_n, now).await?;
    for peer in [PeerKind::Radicale, PeerKind::Xandikos] {
        println!(
            "== {}: {events_n} events, {} rounds",
            peer.name(),
            args.dav_event_rounds
        );
        dav_events::run(peer, &template, args.dav_event_rounds, report).await?;
    }
    Ok(())
}

async fn whole_command_figures(template: &Template, report: &mut Report) {
    for peer in [PeerKind::Radicale, PeerKind::Xandikos] {
        println!(
            "== whole commands, crmsync and vdirsyncer: {} contacts on {}",
            template.contacts,
            peer.name()
        );
        if let Err(e) = vdirsyncer::run(peer, template, report).await {
            // The error may hold a child's whole output: its last line is
            // what fits a table cell; the whole of it is printed here.
            eprintln!("whole commands on {}: {e}", peer.name());
            let text = e.to_string();
            let why = text
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("failed")
                .trim()
                .to_string();
            for (name, target) in [
                ("first sync, whole commands: crmsync / vdirsyncer", "<= 1x (raw-bound)"),
                ("no-change sync, whole commands: vdirsyncer / crmsync", ">= 10x faster"),
                (
                    "1% change both sides, whole commands: vdirsyncer / crmsync",
                    ">= 5x faster",
                ),
            ] {
                report.not_measured("vdirsyncer", format!("{name} ({})", peer.name()), target, why.clone());
            }
        }
    }
}

/// The 1-minute load average (/proc/loadavg), or "unknown".
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "unknown".to_owned())
}

/// The machine a run measured on and how loaded it was: on a shared 2-core
/// machine the load moves absolute times (and the tails) more than the code.
fn machine_and_load(load_at_start: &str) -> String {
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    format!(
        "{cores} CPU cores, 1-minute load average {load_at_start} at the start and {} at the end",
        load_average()
    )
}

/// Writes the report over `out`, each row beside the figure the file held
/// for it before (a missing or unreadable file gives no previous column).
fn write_report(out: &std::path::Path, report: &Report, header: &str) -> Result<(), BenchError> {
    let previous = std::fs::read_to_string(out).ok();
    let markdown = report.markdown(header, previous.as_deref());
    std::fs::write(out, markdown).map_err(|e| BenchError::Io {
        doing: format!("writing {}", out.display()),
        source: e,
    })?;
    println!("wrote {}", out.display());
    Ok(())
}

/// Peak RSS of a first sync at each of `sizes` contacts + as many events,
/// so the report shows whether memory grows with the mailbox (R-SCALE-12).
async fn memory_figures(sizes: &[usize], now: chrono::DateTime<Utc>, report: &mut Report) -> Result<(), BenchError> {
    let mut sizes = sizes.to_vec();
    sizes.sort_unstable();
    sizes.dedup();
    println!("== memory: {sizes:?} contacts + as many events");
    let exe = std::env::current_exe().map_err(|e| BenchError::Io {
        doing: "finding the bench binary".into(),
        source: e,
    })?;
    memory::run(&exe, &sizes, now, report).await
}

/// First and no-change sync against the in-process Graph test server.
async fn graph_figures(args: &Args, now: chrono::DateTime<Utc>, report: &mut Report) -> Result<(), BenchError> {
    println!(
        "== graph: {} contacts + {} events (test server)",
        args.graph_contacts, args.graph_events
    );
    let template = Template::seed(args.graph_contacts, args.graph_events, now).await?;
    graph::run(&template, report).await
}

/// `$CRMSYNC_TEST_POSTGRES_URL`, or why it cannot be used.
fn postgres_url() -> Result<String, BenchError> {
    std::env::var(crmsync_testkit::POSTGRES_URL_VAR)
        .ok()
        .filter(|u| !u.is_empty())
        .ok_or_else(|| {
            BenchError::Postgres(format!(
                "${} not set (source scripts/test-env.sh)",
                crmsync_testkit::POSTGRES_URL_VAR
            ))
        })
}

/// `crmsync-bench profiles`: measured and printed, RESULTS.md untouched.
async fn profiles_per_box_figures(sizes: &profiles_per_box::Sizes, report: &mut Report) -> Result<(), BenchError> {
    let exe = std::env::current_exe().map_err(|e| BenchError::Io {
        doing: "finding the bench binary".into(),
        source: e,
    })?;
    println!(
        "== profiles per box: {} {} profiles, {} worker(s), {}",
        sizes.profiles,
        if sizes.dav { "DAV" } else { "vdir" },
        sizes.workers,
        if sizes.postgres.is_some() {
            "PostgreSQL"
        } else {
            "SQLite"
        }
    );
    profiles_per_box::run(&exe, sizes, report).await
}

/// The three profiles-per-box measurements (#17 item 5), at its
/// sizes with `--full` and a tenth of them otherwise: vdir profiles on one
/// SQLite file, DAV profiles on one Radicale, and 4 workers on PostgreSQL.
async fn profiles_figures(args: &Args, report: &mut Report) -> Result<(), BenchError> {
    let scale = |full: usize| if args.full { full } else { full / 10 };
    let pace_per_worker = 10_000.0 / 300.0;
    let mut runs = vec![profiles_per_box::Sizes {
        profiles: scale(10_000),
        workers: 1,
        pace: pace_per_worker,
        max_runs: None,
        postgres: None,
        dav: false,
    }];
    if args.no_servers {
        report.not_measured(
            "profiles per box",
            "DAV profiles (one Radicale)",
            ">= 33 runs/s per worker",
            "--no-servers",
        );
    } else {
        runs.push(profiles_per_box::Sizes {
            profiles: scale(1_000),
            workers: 1,
            pace: pace_per_worker,
            max_runs: None,
            postgres: None,
            dav: true,
        });
    }
    if args.no_postgres {
        report.not_measured(
            "profiles per box",
            "4 workers on PostgreSQL",
            ">= 33 runs/s per worker",
            "--no-postgres",
        );
    } else {
        runs.push(profiles_per_box::Sizes {
            profiles: scale(40_000),
            workers: 4,
            pace: 4.0 * pace_per_worker,
            max_runs: None,
            postgres: Some(postgres_url()?),
            dav: false,
        });
    }
    for sizes in &runs {
        // A size the loaded machine could not pace keeps its rows as "not
        // measured" with the reason; the other sections' figures still land.
        match profiles_per_box_figures(sizes, report).await {
            Ok(()) => {}
            Err(BenchError::TimedOut(why)) => {
                println!("   not measured: {why}");
                report.not_measured(
                    "profiles per box",
                    format!(
                        "{} {} profiles, {} worker(s)",
                        sizes.profiles,
                        if sizes.dav { "DAV" } else { "vdir" },
                        sizes.workers
                    ),
                    ">= 33 runs/s per worker",
                    format!("timed out: {why}"),
                );
            }
            Err(other) => return Err(other),
        }
    }
    Ok(())
}

/// Scale-out needs PostgreSQL; without it the figure keeps its row.
async fn scale_out_figures(args: &Args, report: &mut Report) -> Result<(), BenchError> {
    const TARGET: &str = ">= 3.5x";
    const NAME: &str = "4 workers / 1 worker, profiles per second";
    if args.no_postgres {
        report.not_measured("scale-out", NAME, TARGET, "--no-postgres");
        return Ok(());
    }
    let Some(url) = std::env::var(crmsync_testkit::POSTGRES_URL_VAR)
        .ok()
        .filter(|u| !u.is_empty())
    else {
        report.not_measured(
            "scale-out",
            NAME,
            TARGET,
            format!(
                "${} not set (source scripts/test-env.sh)",
                crmsync_testkit::POSTGRES_URL_VAR
            ),
        );
        return Ok(());
    };
    let exe = std::env::current_exe().map_err(|e| BenchError::Io {
        doing: "finding the bench binary".into(),
        source: e,
    })?;
    scale_out::run(&exe, &url, args.scale_profiles, &[1, 2, 4], report).await
}

fn engine(args: &Args, report: &mut Report) {
    let dir = args.criterion_dir.clone().unwrap_or_else(|| {
        let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| PathBuf::from("target"), PathBuf::from);
        target.join("criterion")
    });
    let mut per = Vec::new();
    for figure in &FIGURES {
        let target = figure
            .target_us
            .map_or_else(|| BOTH_CHANGED_TARGET.to_owned(), |us| format!("<= {us} us/record"));
        for &n in figure.sizes {
            let what = format!("{}, {n} records", figure.what);
            match micros_per_record(&dir, figure.group, n) {
                Some(us) => {
                    report.add(
                        "engine",
                        what,
                        format!("{us:.2} us/record"),
                        &target,
                        figure.target_us.map_or(Standing::Info, |t| Standing::of(us <= t)),
                    );
                    if figure.group == GROUP {
                        per.push(us);
                    }
                }
                None => report.not_measured(
                    "engine",
                    what,
                    &target,
                    format!("no criterion result in {}", dir.display()),
                ),
            }
        }
    }
    if let (Some(first), Some(last)) = (per.first(), per.last())
        && per.len() == 3
    {
        let growth = last / first;
        report.add(
            "engine",
            "per-record cost 100k / 1k (linear = 1.0)",
            format!("{growth:.2}"),
            "~1 (linear growth)",
            Standing::of(growth <= 1.5),
        );
    }
}
