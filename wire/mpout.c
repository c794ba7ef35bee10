#include <string.h>

#include "wire/mpout.h"

int cove_mpout_write(void *data, const char *buf, size_t len)
{
	struct cove_mpout *o = data;

	if (len == 0)
		return 0; /* an empty str or bin body may come with a NULL pointer */
	if (len > o->cap - o->len)
		return -1;
	memcpy(o->p + o->len, buf, len);
	o->len += len;
	return 0;
}
