/* proto: the host <-> agent wire protocol (runner/proto/PROTOCOL.md).
 *
 * A frame is a 12-byte little-endian header
 *     u32 length   payload bytes that follow the header
 *     u16 type     enum proto_type
 *     u16 flags    none defined in version 1: senders send 0, receivers ignore
 *     u32 channel  0 = control; EXEC channels are chosen by the host
 * followed by `length` payload bytes. A whole frame (header + payload) is at
 * most PROTO_MAX_FRAME bytes; a longer length is a protocol error after which
 * the stream cannot be resynchronised (the connection is closed).
 *
 * The decoder is pure: it reads a byte buffer and fills a struct proto_msg
 * whose strings and byte ranges are views into that buffer (nothing is
 * allocated, nothing is NUL-terminated). The encoder writes frames into a
 * caller buffer or appends them to a struct strbuf.
 *
 * Plain C with no library dependencies besides common/: the static agent
 * compiles these sources with musl. */
#ifndef SMOL_PROTO_H
#define SMOL_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct strbuf;

#define PROTO_VERSION	  1u /* the only version this code speaks */
#define PROTO_HDR_SIZE	  12u
#define PROTO_MAX_FRAME	  (1u << 20) /* header + payload */
#define PROTO_MAX_PAYLOAD (PROTO_MAX_FRAME - PROTO_HDR_SIZE)
/* Output and stdin data frames carry at most this much (keeps frames small
 * so that several channels interleave fairly). */
#define PROTO_MAX_DATA 65536u

enum proto_type {
	PROTO_HELLO = 1,	 /* both: version + capability negotiation */
	PROTO_ERROR = 2,	 /* both: a request or frame was refused */
	PROTO_OK = 3,		 /* agent: a control request succeeded */
	PROTO_PING = 4,		 /* host: liveness check */
	PROTO_PONG = 5,		 /* agent: answer to PING, same cookie */
	PROTO_EXEC = 16,	 /* host: start a process on a new channel */
	PROTO_STARTED = 17,	 /* agent: EXEC accepted, process running */
	PROTO_STDIN = 18,	 /* host: bytes for the process's stdin */
	PROTO_STDIN_EOF = 19,	 /* host: close the process's stdin */
	PROTO_STDOUT = 20,	 /* agent: bytes the process wrote to stdout */
	PROTO_STDERR = 21,	 /* agent: bytes the process wrote to stderr */
	PROTO_EXIT = 22,	 /* agent: the process ended; channel is free */
	PROTO_KILL = 23,	 /* host: signal the channel's whole process tree */
	PROTO_MOUNT = 32,	 /* host: mount a file system (virtio-fs tag) */
	PROTO_SET_TIME = 33,	 /* host: set the wall clock */
	PROTO_RESEED = 34,	 /* host: add entropy, reseed the kernel RNG */
	PROTO_SET_HOSTNAME = 35, /* host: set the host name */
	PROTO_QUIESCE = 36,	 /* host: prepare for a snapshot */
	PROTO_RESUMED = 37,	 /* host: the VM was restored; resume work */
	PROTO_SHUTDOWN = 38,	 /* host: power off (PID 1) or exit (process) */
};

/* Capability bits carried in HELLO. */
enum {
	PROTO_CAP_EXEC = 1u << 0,     /* EXEC, STDIN, KILL, EXIT */
	PROTO_CAP_MOUNT = 1u << 1,    /* MOUNT */
	PROTO_CAP_TIME = 1u << 2,     /* SET_TIME */
	PROTO_CAP_RESEED = 1u << 3,   /* RESEED */
	PROTO_CAP_HOSTNAME = 1u << 4, /* SET_HOSTNAME */
	PROTO_CAP_QUIESCE = 1u << 5,  /* QUIESCE / RESUMED */
	PROTO_CAP_SHUTDOWN = 1u << 6, /* SHUTDOWN */
	PROTO_CAP_CGROUP = 1u << 7,   /* agent kills EXEC trees through cgroup v2 */
	PROTO_CAP_PID1 = 1u << 8,     /* agent runs as PID 1 (init) */
	/* EXIT may carry LEAKED and a leaked count. The agent sets them only
	 * when the host offered this bit: a receiver without it refuses
	 * unknown EXIT flags and a non-zero reserved field. */
	PROTO_CAP_LEAK = 1u << 9,
	/* EXIT may carry OOM (the same rule as LEAK). */
	PROTO_CAP_OOM = 1u << 10,
};
#define PROTO_CAP_ALL 0x7ffull

/* ERROR codes. */
enum proto_error_code {
	PROTO_E_MALFORMED = 1,	  /* payload does not decode */
	PROTO_E_UNKNOWN_TYPE = 2, /* type not known to the receiver */
	PROTO_E_TOO_LARGE = 3,	  /* frame over PROTO_MAX_FRAME (connection closes) */
	PROTO_E_VERSION = 4,	  /* no common protocol version */
	PROTO_E_STATE = 5,  /* not allowed now (no HELLO yet, channel busy/unknown, quiesced) */
	PROTO_E_FAILED = 6, /* the operation was attempted and failed; sys_errno says why */
	PROTO_E_LIMIT = 7,  /* a resource limit (too many channels) */
};

/* EXEC flags. */
enum {
	PROTO_EXEC_SHELL = 1u << 0,	   /* argv has one string, run as `/bin/sh -c STRING` */
	PROTO_EXEC_SET_UID = 1u << 1,	   /* setuid(uid) before exec */
	PROTO_EXEC_SET_GID = 1u << 2,	   /* setgid(gid) (and setgroups(0)) before exec */
	PROTO_EXEC_INHERIT_ENV = 1u << 3,  /* start from the agent's environment */
	PROTO_EXEC_MERGE_STDERR = 1u << 4, /* stderr goes to the stdout stream */
};
#define PROTO_EXEC_FLAGS_ALL 0x1fu

/* EXEC stdin modes. */
enum proto_stdin_mode {
	PROTO_STDIN_NULL = 0, /* /dev/null */
	PROTO_STDIN_PIPE = 1, /* fed by STDIN frames, closed by STDIN_EOF */
};

/* EXIT flags. */
enum {
	PROTO_EXIT_EXITED = 1u << 0,	   /* status is the exit code */
	PROTO_EXIT_SIGNALED = 1u << 1,	   /* status is the signal number */
	PROTO_EXIT_COREDUMP = 1u << 2,	   /* with SIGNALED */
	PROTO_EXIT_TIMED_OUT = 1u << 3,	   /* the agent killed it at timeout_ns */
	PROTO_EXIT_KILLED = 1u << 4,	   /* a KILL frame ended it */
	PROTO_EXIT_SPAWN_FAILED = 1u << 5, /* never ran: spawn_errno says why (status 127) */
	PROTO_EXIT_LEAKED = 1u << 6, /* processes outlived it: leaked says how many (CAP_LEAK) */
	/* the kernel's OOM killer killed a process of its tree (CAP_OOM);
	 * with EXITED or SIGNALED, never SPAWN_FAILED */
	PROTO_EXIT_OOM = 1u << 7,
};
#define PROTO_EXIT_FLAGS_ALL 0xffu

/* MOUNT flags. */
enum {
	PROTO_MOUNT_RDONLY = 1u << 0,
	PROTO_MOUNT_MKDIR = 1u << 1, /* create the target directory first */
};

/* SHUTDOWN modes. */
enum {
	PROTO_SHUTDOWN_POWEROFF = 0,
	PROTO_SHUTDOWN_REBOOT = 1,
};

#define PROTO_MAX_RESEED   4096u /* entropy bytes per RESEED */
#define PROTO_MAX_HOSTNAME 64u	 /* HOST_NAME_MAX on Linux */

/* A view of bytes inside the decoded buffer (or, for encoding, the caller's
 * memory). Not NUL-terminated. */
struct proto_bytes {
	const uint8_t *data;
	uint32_t len;
};

/* A string view: like proto_bytes, but decoded strings never contain NUL. */
struct proto_str {
	const char *ptr;
	uint32_t len;
};

/* A list of strings. Decoding sets count, raw and raw_len (the encoded list
 * body, already validated; walk it with proto_strlist_next()). Encoding uses
 * items[0..count) when items is non-NULL (NUL-terminated C strings), else
 * copies raw/raw_len, so a decoded message re-encodes unchanged. */
struct proto_strlist {
	uint32_t count;
	const char *const *items;
	const uint8_t *raw;
	uint32_t raw_len;
};

struct proto_strlist_iter {
	const uint8_t *p;
	const uint8_t *end;
};

struct proto_hdr {
	uint32_t length;
	uint16_t type;
	uint16_t flags;
	uint32_t channel;
};

struct proto_hello {
	uint16_t version_min;
	uint16_t version_max;
	uint64_t caps;
	struct proto_str software; /* "smoltest-agent 0.1.0", informational */
};

struct proto_error {
	uint32_t code;	   /* enum proto_error_code */
	uint32_t ref_type; /* type of the refused frame, 0 if none */
	int32_t sys_errno; /* positive errno for PROTO_E_FAILED, else 0 */
	struct proto_str message;
};

struct proto_ping {
	uint64_t cookie;
};

struct proto_exec {
	uint32_t flags;		   /* PROTO_EXEC_* */
	uint32_t stdin_mode;	   /* enum proto_stdin_mode */
	uint32_t uid, gid;	   /* used with SET_UID / SET_GID */
	uint64_t timeout_ns;	   /* 0: none */
	struct proto_str cwd;	   /* empty: the agent's working directory */
	struct proto_strlist argv; /* at least one entry; exactly one with SHELL */
	struct proto_strlist env;  /* "KEY=VALUE" entries */
};

struct proto_started {
	uint32_t pid;
};

struct proto_exit {
	uint32_t flags;	     /* PROTO_EXIT_* */
	int32_t status;	     /* exit code, or signal number when SIGNALED */
	int32_t spawn_errno; /* with SPAWN_FAILED */
	uint32_t leaked;     /* with LEAKED: processes left running (>= 1); else 0 */
	uint64_t wall_ns;
	uint64_t utime_us, stime_us; /* of the whole waited tree (RUSAGE_CHILDREN semantics) */
	uint64_t maxrss_kib;
	uint64_t minflt, majflt;
	uint64_t nvcsw, nivcsw;
};

struct proto_kill {
	uint32_t signal; /* 0 means SIGKILL */
};

struct proto_mount {
	uint32_t flags;		  /* PROTO_MOUNT_* */
	struct proto_str fstype;  /* "virtiofs", "tmpfs", ... */
	struct proto_str source;  /* virtio-fs tag or device */
	struct proto_str target;  /* absolute guest path */
	struct proto_str options; /* mount data string, may be empty */
};

struct proto_set_time {
	uint64_t wall_ns; /* CLOCK_REALTIME, ns since the epoch */
};

struct proto_shutdown {
	uint32_t mode; /* PROTO_SHUTDOWN_* */
};

/* One decoded (or to-be-encoded) message. hdr.length is computed by the
 * encoder; the union member is selected by hdr.type:
 *   HELLO hello; ERROR error; PING/PONG ping; EXEC exec; STARTED started;
 *   STDIN/STDOUT/STDERR data; EXIT exit; KILL kill; MOUNT mount;
 *   SET_TIME set_time; RESEED data; SET_HOSTNAME name (no '\0', <= 64);
 *   SHUTDOWN shutdown; OK, STDIN_EOF, QUIESCE, RESUMED: empty payload. */
struct proto_msg {
	struct proto_hdr hdr;
	union {
		struct proto_hello hello;
		struct proto_error error;
		struct proto_ping ping;
		struct proto_exec exec;
		struct proto_started started;
		struct proto_bytes data;
		struct proto_exit exit;
		struct proto_kill kill;
		struct proto_mount mount;
		struct proto_set_time set_time;
		struct proto_str name;
		struct proto_shutdown shutdown;
	} u;
	/* On a decode error: a static string naming the field that failed
	 * ("EXEC argv[2]: length 70000 runs past the payload"). */
	const char *error;
};

/* Type name for messages ("EXEC"), or NULL for an unknown type. */
const char *proto_type_name(uint16_t type);

/* Reads a header from 12 bytes. Never fails. */
void proto_hdr_decode(const uint8_t in[PROTO_HDR_SIZE], struct proto_hdr *out);
/* Writes a header as 12 bytes. */
void proto_hdr_encode(const struct proto_hdr *hdr, uint8_t out[PROTO_HDR_SIZE]);

/* Decodes the first frame in buf[0..len).
 *   0           a whole, valid frame: *out filled, *consumed = frame size.
 *   -EAGAIN     need more bytes (the frame is not complete yet).
 *   -EMSGSIZE   header length makes the frame exceed PROTO_MAX_FRAME: the
 *               stream cannot be resynchronised; close the connection.
 *   -ENOMSG     unknown type: out->hdr and *consumed are valid, so the caller
 *               can answer ERROR(UNKNOWN_TYPE) and skip the frame.
 *   -EBADMSG    a known type whose payload is malformed (short, trailing
 *               bytes, a length running past the end, NUL in a string, an
 *               invalid enum or flag): out->hdr, out->error and *consumed are
 *               valid so the frame can be answered and skipped.
 * Views in *out point into buf and live as long as it. Pure: no allocation,
 * no global state. */
int proto_decode(const uint8_t *buf, size_t len, struct proto_msg *out, size_t *consumed);

/* Walks a decoded (validated) string list. Returns true and fills *out while
 * entries remain. */
void proto_strlist_iter_init(const struct proto_strlist *l, struct proto_strlist_iter *it);
bool proto_strlist_next(struct proto_strlist_iter *it, struct proto_str *out);

/* Size of msg's encoded frame (header included). -EMSGSIZE when it would
 * exceed PROTO_MAX_FRAME, -EINVAL for an unknown type or a field the
 * decoder would refuse (NUL in a string, bad flags). */
int proto_encoded_size(const struct proto_msg *msg, size_t *out);

/* Encodes msg (hdr.length is ignored and computed) into buf[0..cap).
 * -ENOBUFS when cap is too small (nothing useful written), -EINVAL when the
 * frame would not decode (the encoder checks its output with proto_decode(),
 * so it never sends what a peer refuses), otherwise as proto_encoded_size().
 * *out_len gets the frame size. */
int proto_encode(const struct proto_msg *msg, uint8_t *buf, size_t cap, size_t *out_len);

/* Appends msg's encoded frame to sb. -ENOMEM leaves sb as it was. */
int proto_encode_sb(const struct proto_msg *msg, struct strbuf *sb);

/* Helpers for building messages: a string view of a C string (NULL gives an
 * empty view), and a data frame header for `len` bytes. */
struct proto_str proto_cstr(const char *s);

/* Copies a string view into dst[0..cap) NUL-terminated. -ENAMETOOLONG when
 * it does not fit (dst then holds ""). */
int proto_str_copy(struct proto_str s, char *dst, size_t cap);

/* True when two string views are equal to the C string. */
bool proto_str_eq(struct proto_str s, const char *cstr);

#endif
