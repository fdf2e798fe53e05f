/* Internal to unit.c and unit-keys.c: the key table and the helpers both use. */
#ifndef BERTH_UNIT_KEYS_H
#define BERTH_UNIT_KEYS_H

#include <stddef.h>

#include "unit.h"

#define BERTH_UNIT_MSG 256 /* a setter's message buffer */

enum { SCALAR, LIST };

/* A setter checks VALUE and stores it in U; -1 with a reason in MSG (BERTH_UNIT_MSG). */
typedef int setter_fn(struct berth_unit *u, const char *v, char *msg);

struct berth_unit_key {
	const char *section, *name;
	setter_fn *set;
	int kind;
	int slot; /* scalars: index in seen_line; aliases share one */
	struct berth_strv *(*list)(struct berth_unit *); /* string lists: what "Key=" clears */
};

struct berth_unit_refused {
	const char *name, *why;
};

extern const struct berth_unit_key berth_unit_keys[];
extern const size_t berth_unit_nkeys;
/* Keys of other tools refused on purpose, with the reason. */
extern const struct berth_unit_refused berth_unit_refused[];
extern const size_t berth_unit_nrefused;
extern const char *const berth_unit_sections[3];

/* "Key=" with an empty value: empty K's list in U. */
void berth_unit_key_clear(struct berth_unit *u, const struct berth_unit_key *k);

int berth_strv_add(struct berth_strv *l, const char *s);
void berth_strv_clear(struct berth_strv *l);
/* A published port for messages: "[IP:]HOSTPORT[:CONTAINERPORT]/PROTO" (the
 * container port WITH_CONTAINER), the address left out when it is 0. */
char *berth_net_port_str(const struct berth_net_port *p, int with_container, char *buf, size_t len);
/* [A-Za-z_][A-Za-z0-9_]* over the N bytes at S. */
int berth_env_name_valid(const char *s, size_t n);

#endif
