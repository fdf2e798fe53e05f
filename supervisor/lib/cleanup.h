/* Cleanup by attribute (style.md #6): variables that free themselves at scope
 * exit, and explicit hand-over of ownership. Always initialise them. */
#ifndef BERTH_CLEANUP_H
#define BERTH_CLEANUP_H

#include <stdlib.h>
#include <unistd.h>

static inline void berth_freep(void *p)
{
	free(*(void **)p);
}
static inline void berth_closep(int *fd)
{
	if (*fd >= 0)
		close(*fd);
}
#define cleanup_free __attribute__((cleanup(berth_freep)))
#define cleanup_close __attribute__((cleanup(berth_closep)))

/* Take FD out of a cleanup_close variable: the caller owns it now. */
static inline int berth_take_fd(int *fd)
{
	int r = *fd;

	*fd = -1;
	return r;
}
static inline void *berth_steal_pointer(void *pp)
{
	void **p = pp, *r = *p;

	*p = NULL;
	return r;
}
#endif
