/* The control socket server. */
#ifndef BALLOOND_CONTROL_H
#define BALLOOND_CONTROL_H

#include <stddef.h>

#include "daemon.h"

/* Listen on the socket systemd passed (socket activation) or bind path.
 * Refuses to take over a socket a live daemon serves. 0 or -errno with a
 * sentence in err. */
int control_open(struct control **ret, struct daemon *d, const char *path, char *err,
		 size_t errlen);

/* Close every client and the listening socket (removing the file if we
 * created it). control_close(NULL) is fine. */
void control_close(struct control *ctl);

#endif
