//! The QuickJS driver: one fresh runtime per flow (nothing leaks from one login into the
//! next), the prelude, the bound Actions run in order on one shared `event`, promise jobs
//! drained, timers fired when nothing else is left, and the whole flow held to one time budget
//! by QuickJS's interrupt handler (a busy loop) and the host's own deadline (a pending promise,
//! a timer, a slow `fetch`).
//!
//! It runs on a blocking thread (see [`super::PostLoginFlow::run`]); `fetch` blocks that thread
//! on the tokio runtime's handle, so an Action's `await fetch(…)` costs no executor thread.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use rquickjs::function::This;
use rquickjs::{CatchResultExt, CaughtError, Context, Ctx, Function, Object, Runtime};
use serde_json::Value;

use super::host::{self, Fetcher};
use super::{Action, ConsoleLine, Failure};

const PRELUDE: &str = include_str!("prelude.js");
/// Heap available to one flow's JavaScript.
const MEMORY_LIMIT: usize = 64 << 20;
/// QuickJS's own stack bound (the blocking thread has 2 MiB).
const STACK_LIMIT: usize = 512 << 10;

/// What a finished flow hands back: the api calls' record (`__pymd.result()`) and the console.
pub(super) struct Finished {
    pub(super) record: Value,
    pub(super) console: Vec<ConsoleLine>,
}

/// Runs `actions` in order against `event` until `deadline`.
pub(super) fn execute(
    actions: &[Action],
    event: &Value,
    deadline: Instant,
    fetcher: Fetcher,
) -> Result<Finished, (Failure, Vec<ConsoleLine>)> {
    let console = Rc::new(RefCell::new(Vec::new()));
    let run = Flow::start(event, deadline, fetcher, console.clone())
        .and_then(|flow| flow.run_all(actions));
    let lines = console.take();
    match run {
        Ok(record) => Ok(Finished {
            record,
            console: lines,
        }),
        Err(failure) => Err((failure, lines)),
    }
}

struct Flow {
    rt: Runtime,
    ctx: Context,
    deadline: Instant,
}

/// How far one Action got.
enum Step {
    Running,
    Done,
    Failed(String),
}

impl Flow {
    fn start(
        event: &Value,
        deadline: Instant,
        fetcher: Fetcher,
        console: Rc<RefCell<Vec<ConsoleLine>>>,
    ) -> Result<Flow, Failure> {
        let rt = Runtime::new().map_err(engine)?;
        rt.set_memory_limit(MEMORY_LIMIT);
        rt.set_max_stack_size(STACK_LIMIT);
        rt.set_interrupt_handler(Some(Box::new(move || Instant::now() >= deadline)));
        let ctx = Context::full(&rt).map_err(engine)?;
        let event = serde_json::to_string(event).map_err(|e| Failure::Engine(e.to_string()))?;
        ctx.with(|ctx| -> Result<(), Failure> {
            install_host(&ctx, fetcher, console).map_err(engine)?;
            ctx.eval::<(), _>(PRELUDE)
                .catch(&ctx)
                .map_err(|e| Failure::Engine(format!("prelude: {e}")))?;
            let parsed = ctx.json_parse(event).map_err(engine)?;
            pymd(&ctx)?.set("event", parsed).map_err(engine)
        })?;
        Ok(Flow { rt, ctx, deadline })
    }

    /// Runs every Action; stops after the one that denied.
    fn run_all(&self, actions: &[Action]) -> Result<Value, Failure> {
        for action in actions {
            self.run_one(action)?;
            if self.denied()? {
                break;
            }
        }
        let text: String = self.call("result")?;
        serde_json::from_str(&text).map_err(|e| Failure::Engine(format!("result: {e}")))
    }

    fn run_one(&self, action: &Action) -> Result<(), Failure> {
        let timed_out = || Failure::TimedOut {
            action: action.name.clone(),
        };
        let secrets: serde_json::Map<String, Value> = action
            .secrets
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect();
        let secrets =
            serde_json::to_string(&secrets).map_err(|e| Failure::Engine(e.to_string()))?;
        self.ctx.with(|ctx| -> Result<(), Failure> {
            let secrets = ctx.json_parse(secrets).map_err(engine)?;
            let start: Function = pymd(&ctx)?.get("start").map_err(engine)?;
            start
                .call::<_, ()>((
                    This(pymd(&ctx)?),
                    action.name.as_str(),
                    action.code.as_str(),
                    secrets,
                    action.dependencies.clone(),
                ))
                .catch(&ctx)
                .map_err(|e| self.thrown(action, e))
        })?;
        loop {
            self.drain_jobs(action)?;
            match self.step()? {
                Step::Done => return Ok(()),
                Step::Failed(message) => return Err(self.failure(action, message)),
                Step::Running => {}
            }
            let wait: f64 = self.call("nextTimer")?;
            if wait < 0.0 {
                // Nothing left that could settle the handler's promise: on Auth0 the flow
                // would sit until its time budget ran out; here it fails at once.
                return Err(Failure::NeverSettles {
                    action: action.name.clone(),
                });
            }
            let wake = Instant::now() + Duration::from_millis(wait as u64);
            if wake >= self.deadline {
                std::thread::sleep(self.deadline.saturating_duration_since(Instant::now()));
                return Err(timed_out());
            }
            std::thread::sleep(wake.saturating_duration_since(Instant::now()));
            self.ctx.with(|ctx| -> Result<(), Failure> {
                let fire: Function = pymd(&ctx)?.get("fireDue").map_err(engine)?;
                fire.call::<_, ()>((This(pymd(&ctx)?),))
                    .catch(&ctx)
                    .map_err(|e| self.thrown(action, e))
            })?;
        }
    }

    /// Runs promise jobs until none is left.
    fn drain_jobs(&self, action: &Action) -> Result<(), Failure> {
        loop {
            match self.rt.execute_pending_job() {
                Ok(true) => {}
                Ok(false) => return Ok(()),
                Err(job) => {
                    let message = job.0.with(|ctx| {
                        let caught: rquickjs::Result<()> = Err(rquickjs::Error::Exception);
                        match caught.catch(&ctx) {
                            Err(e) => e.to_string(),
                            Ok(()) => String::from("a promise job failed"),
                        }
                    });
                    return Err(self.failure(action, message));
                }
            }
        }
    }

    fn step(&self) -> Result<Step, Failure> {
        self.ctx.with(|ctx| {
            let p = pymd(&ctx)?;
            let status: String = p.get("status").map_err(engine)?;
            Ok(match status.as_str() {
                "done" => Step::Done,
                "failed" => Step::Failed(p.get::<_, String>("error").map_err(engine)?),
                _ => Step::Running,
            })
        })
    }

    fn denied(&self) -> Result<bool, Failure> {
        let record: String = self.call("result")?;
        let v: Value =
            serde_json::from_str(&record).map_err(|e| Failure::Engine(format!("result: {e}")))?;
        Ok(!v["denied"].is_null())
    }

    /// Calls a method of `__pymd` with no Action attached to the failure.
    fn call<R>(&self, method: &str) -> Result<R, Failure>
    where
        R: for<'js> rquickjs::FromJs<'js>,
    {
        self.ctx.with(|ctx| {
            let f: Function = pymd(&ctx)?.get(method).map_err(engine)?;
            f.call::<_, R>((This(pymd(&ctx)?),))
                .catch(&ctx)
                .map_err(|e| Failure::Engine(format!("{method}: {e}")))
        })
    }

    fn thrown(&self, action: &Action, e: CaughtError<'_>) -> Failure {
        let message = match &e {
            CaughtError::Exception(ex) => ex.message().unwrap_or_else(|| e.to_string()),
            _ => e.to_string(),
        };
        self.failure(action, message)
    }

    /// A failure of `action`: past the deadline it is the time budget whatever the message
    /// (QuickJS reports an interrupted script as an `InternalError`).
    fn failure(&self, action: &Action, message: String) -> Failure {
        if Instant::now() >= self.deadline {
            Failure::TimedOut {
                action: action.name.clone(),
            }
        } else {
            Failure::Threw {
                action: action.name.clone(),
                message,
            }
        }
    }
}

fn pymd<'js>(ctx: &Ctx<'js>) -> Result<Object<'js>, Failure> {
    ctx.globals().get("__pymd").map_err(engine)
}

fn engine(e: rquickjs::Error) -> Failure {
    Failure::Engine(e.to_string())
}

/// `__host.fetch(json) -> json` and `__host.log(level, text)`.
fn install_host(
    ctx: &Ctx<'_>,
    fetcher: Fetcher,
    console: Rc<RefCell<Vec<ConsoleLine>>>,
) -> rquickjs::Result<()> {
    let h = Object::new(ctx.clone())?;
    h.set(
        "fetch",
        Function::new(ctx.clone(), move |request: String| -> String {
            host::fetch(&fetcher, &request)
        })?,
    )?;
    h.set(
        "log",
        Function::new(ctx.clone(), move |level: String, text: String| {
            let mut lines = console.borrow_mut();
            if lines.len() < super::MAX_CONSOLE_LINES {
                lines.push(ConsoleLine { level, text });
            }
        })?,
    )?;
    ctx.globals().set("__host", h)
}
