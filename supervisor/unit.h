/* Unit files (NAME.container): reading, parsing and validating one file, and
 * the checks across all units (dependencies exist, no cycles) with the start
 * order. Semantics: docs/berth.container.5.md. Parsing is pure (the fuzzer
 * and unit tests reach it); berth_unit_load adds the file checks and what
 * needs the image (its existence, user names from its /etc/passwd). */
#ifndef BERTH_UNIT_H
#define BERTH_UNIT_H

#include <stddef.h>
#include <stdint.h>

#include "container.h"
#include "lib/diag.h"

#define BERTH_UNITS_BAKED "/etc/berth/units"
#define BERTH_UNITS_DEPLOYED "/var/lib/berth/units"
#define BERTH_IMAGES_DIR "/usr/lib/berth/images"
#define BERTH_CONTAINER_INIT "/run/berth-init" /* where RunInit=yes puts berth-init */
#define BERTH_UNIT_MAX_BYTES 65536
#define BERTH_UNIT_SUFFIX ".container"

enum berth_unit_type { BERTH_TYPE_SIMPLE, BERTH_TYPE_ONESHOT };

/* systemd's Restart= values, in systemd's order. */
enum berth_restart {
	BERTH_RESTART_NO,
	BERTH_RESTART_ON_SUCCESS,
	BERTH_RESTART_ON_FAILURE,
	BERTH_RESTART_ON_ABNORMAL,
	BERTH_RESTART_ON_WATCHDOG,
	BERTH_RESTART_ON_ABORT,
	BERTH_RESTART_ALWAYS,
};

/* Network= (docs/networking.md). */
enum berth_net_mode {
	BERTH_NET_BRIDGE,    /* own stack, a veth on the host's bridge (the default) */
	BERTH_NET_NONE,      /* own stack with only lo */
	BERTH_NET_HOST,      /* the host's stack */
	BERTH_NET_CONTAINER, /* the stack of another unit, NET.CONTAINER */
};

enum berth_net_proto { BERTH_PROTO_TCP, BERTH_PROTO_UDP };

#define BERTH_NET_MAX_DNS 3      /* resolv.conf's limit (MAXNS) */
#define BERTH_NET_MAX_HOSTS 16
#define BERTH_NET_MAX_PUBLISH 16
#define BERTH_NET_PUBLISH_TOTAL 256 /* across all units: one nftables batch (nft.c BATCH_MAX) */
#define BERTH_NET_HOSTNAME_MAX 253

/* AddHost=NAME:IP: a line of the container's /etc/hosts. */
struct berth_net_host {
	char name[BERTH_NET_HOSTNAME_MAX + 1];
	uint32_t ip;
	int line;                /* in the unit file, for messages */
};

/* PublishPort=[IP:]HOSTPORT:CONTAINERPORT[/PROTO]. */
struct berth_net_port {
	uint32_t host_ip;        /* host order; 0: every address of the host */
	uint16_t host_port, container_port;
	enum berth_net_proto proto;
	int line;                /* in the unit file, for messages */
};

/* What the network runtime gets. Addresses are IPv4 in host byte order. Every
 * field but MODE (and CONTAINER) is empty unless MODE is BERTH_NET_BRIDGE:
 * validation refuses them with the other modes. */
struct berth_unit_net {
	enum berth_net_mode mode;
	char container[BERTH_NAME_MAX]; /* BERTH_NET_CONTAINER: the unit whose stack it joins */
	uint32_t ip;                    /* IPAddress= / IP=; 0: allocated at start */
	const char *ip_key;             /* "IPAddress" or "IP", as the file spells it */
	uint32_t dns[BERTH_NET_MAX_DNS];
	int ndns, dns_line;             /* DNS_LINE: the first DNS= line in force */
	struct berth_net_host hosts[BERTH_NET_MAX_HOSTS];
	int nhosts;
	struct berth_net_port publish[BERTH_NET_MAX_PUBLISH];
	int npublish;
	int isolation;                  /* NetworkIsolation=: cut off from the other units on the bridge */
};

/* A list of strings, each allocated. */
struct berth_strv {
	char **v;
	size_t n;
};

struct berth_unit {
	char name[BERTH_NAME_MAX];
	char path[256];        /* the file it was read from */
	uint64_t hash;         /* FNV-1a of the file's bytes: "changed?" on reload */

	/* [Unit] */
	char description[257];
	struct berth_strv after, requires, wants, documentation;
	int autostart;
	int64_t start_limit_interval_us; /* 0: no start limit */
	unsigned start_limit_burst;

	/* [Container]: C is what the runtime gets; its argv and env point into
	 * ARGV and ENV below (berth_unit_finish builds them). */
	struct berth_container c;
	char image[BERTH_NAME_MAX]; /* Image=NAME, resolved to BERTH_IMAGES_DIR/IMAGE */
	char image_ref[272];        /* Image=NAME:TAG or NAME@sha256:HEX: an image of the store */
	char image_digest[72];      /* ... resolved, when the unit was loaded */
	struct berth_strv entrypoint, exec, env, env_files;
	char user[64], group[64];   /* as written, resolved into c.uid/c.gid */
	struct berth_strv group_add;
	int run_init;
	int userns_manual;
	char **argv;                /* entrypoint + exec (+ the init in front), NULL-terminated */
	char **envp;                /* Environment= with later keys winning, NULL-terminated */
	struct berth_unit_net net;  /* Network= and the keys of the container's own stack */

	/* [Service] */
	enum berth_unit_type type;
	enum berth_restart restart;
	int64_t restart_us, restart_max_us, restart_reset_us;
	int64_t timeout_stop_us;    /* BERTH_INFINITY: never SIGKILL */
	int kill_signal;
	int64_t log_max_size;
	unsigned log_max_files;

	int seen_line[64];          /* line of each scalar setting, for "set twice" */
	int parse_line;             /* the line being parsed: list setters note it per entry */
};

/* Parse TEXT (LEN bytes, anything) as the unit NAME read from PATH into U
 * (which the call initialises), then validate it on its own. Every problem goes
 * to DIAG as "PATH:LINE: message". Returns 0 when there was no error; on -1, U
 * holds what could be parsed and must still be freed. */
int berth_unit_parse(const char *text, size_t len, const char *path, const char *name,
		     struct berth_unit *u, struct berth_diag *diag);

/* Options of berth_unit_load. */
struct berth_unit_load_opts {
	int check_owner;       /* 1 (berthd): the file must be root's and not group/world-writable */
	const char *images_dir; /* NULL: BERTH_IMAGES_DIR */
	const char *store_dir;  /* NULL: BERTH_STORE_DIR (imgstore.h) */
};

/* Read PATH (its name is the file name minus ".container") with the checks of
 * berth.container(5) (regular file, size, owner), parse it, and resolve what
 * needs the image. Returns a new unit, or NULL with the reasons in DIAG. */
struct berth_unit *berth_unit_load(const char *path, const struct berth_unit_load_opts *o,
				   struct berth_diag *diag);

/* The checks of berth_unit_load on an open file FD (PATH names it in errors):
 * regular, at most BERTH_UNIT_MAX_BYTES, the owner if O asks; then its whole
 * text, read from offset 0 (NUL-terminated, length in *LEN; free() it). */
char *berth_unit_read_fd(int fd, const char *path, const struct berth_unit_load_opts *o, size_t *len,
			 struct berth_diag *diag);

/* berth_unit_load's parse and image resolution on TEXT already read, for the
 * unit NAME to be stored at PATH. */
struct berth_unit *berth_unit_from_text(const char *text, size_t len, const char *path, const char *name,
				       const struct berth_unit_load_opts *o, struct berth_diag *diag);

void berth_unit_free(struct berth_unit *u);

/* The unit name of a file name ("web.container" -> "web"); -1 if FILE is not
 * a unit file name or the name is invalid. */
int berth_unit_name_of(const char *file, char *name, size_t len);
/* ^[a-z0-9][a-z0-9_.-]{0,62}$, and not "events" (reserved for berthd's log). */
int berth_unit_name_valid(const char *name);

/* Checks across units U[0..N): each Requires= and Network=container:NAME
 * names a unit in the set, no unit depends on itself, no dependency cycle
 * (reported in full, "a -> b -> a"; Network=container:NAME counts as
 * Requires=NAME), no host port claimed twice, no fixed address given twice (a
 * conflict is reported on the unit whose name sorts later, naming the other's
 * file and line). Wants= on a missing unit is a warning. On success,
 * ORDER[0..N) holds the indexes of U in start order (dependencies first).
 * Returns 0 or -1. */
int berth_units_check(struct berth_unit *const *u, size_t n, size_t *order, struct berth_diag *diag);

/* The environment of one start: the unit's Environment= overlaid with its
 * EnvironmentFile= files read now (relative paths from the unit's directory;
 * a leading '-' makes a file optional). One allocation; free() it. NULL and
 * DIAG filled on error. */
char **berth_unit_start_env(const struct berth_unit *u, struct berth_diag *diag);

const char *berth_restart_name(enum berth_restart r);
/* "bridge", "none", "host", "container"; "?" for anything else. */
const char *berth_net_mode_name(enum berth_net_mode m);

#endif
