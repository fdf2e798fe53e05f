/* Internal to berthctl: the call to berthd shared by its command files. */
#ifndef BERTHCTL_H
#define BERTHCTL_H

#include <stddef.h>

#include "lib/buf.h"

extern int json_out;

/* One request, passing NPASS (at most 3) descriptors PASS along; the data of
 * the reply goes to *DATA (allocated), the end message's text to MSG, a
 * descriptor passed back to *FD (NULL: closed). Returns the status. */
int berthctl_call(const char *verb, const char *const *args, int nargs, const int *pass, int npass,
		  struct berth_buf *data, char *msg, size_t msglen, int *fd);

/* The two halves of a call: send the request (the socket, or -status with
 * MSG set), then read the reply and close the socket. */
int berthctl_send(const char *verb, const char *const *args, int nargs, const int *pass, int npass, char *msg,
		  size_t msglen);
int berthctl_reply(int s, struct berth_buf *data, char *msg, size_t msglen, int *fd);

/* berthctl-ops.c: the commands that change what runs */
int berthctl_deploy(int argc, char **argv);
int berthctl_edit(int argc, char **argv);
int berthctl_rm(int argc, char **argv);
int berthctl_exec(int argc, char **argv);
int berthctl_cat(int argc, char **argv);

/* berthctl-image.c: the image store and image trust */
int berthctl_image(int argc, char **argv);
int berthctl_trust(int argc, char **argv);

#endif
