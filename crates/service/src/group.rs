//! Group commit: one thread takes every job waiting, hands them to `apply` together (one
//! durable transaction), and answers each job's waiter with its own result. The audit
//! `Recorder` and the feeds' `Inlet` both run on it.

use std::sync::mpsc;

type Reply<R> = mpsc::SyncSender<Result<R, String>>;

/// The handle jobs are submitted through.
pub(crate) struct Group<J, R> {
    jobs: mpsc::Sender<(J, Reply<R>)>,
}

impl<J: Send + 'static, R: Send + 'static> Group<J, R> {
    /// Starts the thread `name`. A group takes jobs until their `weight` reaches `max`;
    /// `apply` answers them in order, or fails them all with one reason.
    pub(crate) fn start(
        name: &str,
        max: usize,
        weight: fn(&J) -> usize,
        apply: impl Fn(Vec<J>) -> Result<Vec<R>, String> + Send + 'static,
    ) -> Group<J, R> {
        let (jobs, rx) = mpsc::channel::<(J, Reply<R>)>();
        std::thread::Builder::new()
            .name(name.into())
            .spawn(move || {
                while let Ok(first) = rx.recv() {
                    let mut load = weight(&first.0);
                    let mut group = vec![first];
                    while load < max {
                        let Ok(job) = rx.try_recv() else { break };
                        load += weight(&job.0);
                        group.push(job);
                    }
                    let (batch, replies): (Vec<J>, Vec<Reply<R>>) = group.into_iter().unzip();
                    match apply(batch) {
                        Ok(results) => {
                            for (r, reply) in results.into_iter().zip(replies) {
                                let _ = reply.send(Ok(r));
                            }
                        }
                        Err(why) => {
                            for reply in replies {
                                let _ = reply.send(Err(why.clone()));
                            }
                        }
                    }
                }
            })
            .expect("a group-commit thread starts");
        Group { jobs }
    }

    /// Hands `job` over; the receiver gives its result once its group is committed.
    pub(crate) fn submit(&self, job: J) -> mpsc::Receiver<Result<R, String>> {
        let (reply, done) = mpsc::sync_channel(1);
        if let Err(mpsc::SendError((_, reply))) = self.jobs.send((job, reply)) {
            let _ = reply.send(Err("the group-commit thread has stopped".into()));
        }
        done
    }
}
