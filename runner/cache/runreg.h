/* runreg: the registry of what a run leaves on the host while it runs, so
 * that a run which could not clean up after itself (SIGKILL, the OOM
 * killer, a crash, kill -9 of its process group) is cleaned up by the next
 * `smoltest run` or `smoltest cache prune`.
 *
 *   <cache root>/runs/<run id>.run   one file per run, flock()ed (LOCK_EX)
 *                                    by its runner from creation to exit:
 *                                    a lock that can be taken means the
 *                                    runner is dead
 *   <cache root>/runs/.<run id>.tmp  the same file before its header is
 *                                    complete (renamed into place)
 *
 * The file holds one record per line, appended as the run acquires each
 * resource:
 *   smoltest-run 1                        format and version
 *   owner PID START BOOT PIDNS            the runner: /proc/PID/stat start
 *                                         time, boot id, pid namespace
 *   dir PATH                              a run directory (removed)
 *   cgroup PATH                           the sandbox's run cgroup (its
 *                                         processes killed, then removed)
 *   proc PID START                        a VMM process (SIGKILLed)
 *
 * Everything in a file is treated as hostile when it is reaped: a dir must
 * be a smoltest-run.* directory of ours reached without symbolic links, a
 * cgroup must be smoltest-<owner pid> on a cgroup2 file system, and a
 * process is killed only when it is provably the one recorded (same boot,
 * same pid namespace, same start time, checked through a pidfd). */
#ifndef SMOL_RUNREG_H
#define SMOL_RUNREG_H

#include <stdio.h>
#include <sys/types.h>

struct runreg;

enum runreg_kind { RUNREG_DIR, RUNREG_CGROUP };

/* Creates <cache_root>/runs/<run_id>.run, locked and holding the owner
 * record of the calling process. run_id is [0-9a-f]+ (copied). -errno with
 * one line in err on failure (the run then goes on unregistered). */
int runreg_create(const char *cache_root, const char *run_id, struct runreg **out, char *err,
		  size_t errlen);

/* Records a resource path (copied). r may be NULL (no registry): a no-op.
 * -errno when the record could not be written. */
int runreg_add_path(struct runreg *r, enum runreg_kind kind, const char *path);

/* Records a process of the run (its start time is read now). r may be
 * NULL. */
int runreg_add_proc(struct runreg *r, pid_t pid);

/* Ends the registration of a run that cleaned up: whatever of its records
 * still exists is reaped now, the file removed and the lock released. When
 * something could not be removed, says so on log and leaves the file for
 * the next run. r may be NULL. */
void runreg_finish(struct runreg *r, FILE *log);

/* Reaps every run under <cache_root>/runs whose lock is free (its runner
 * is dead), writing one line per reaped run to log. *reaped (may be NULL)
 * counts them. 0, or -errno when the registry could not be read (said on
 * log). A registry that does not exist yet is empty. */
int runreg_reap(const char *cache_root, FILE *log, unsigned *reaped);

#endif
