// SPDX-License-Identifier: GPL-2.0
/*
 * kmlctl - drive kmemlab's kernel allocators from the shell, through
 * /dev/kmemlab's handles. The commands run in order on one open file
 * (handles live as long as it does), e.g.
 *
 *   kmlctl cache demo 256 F  alloc demo 16  show demo  free demo 16  drain
 *
 *   cache NAME SIZE [FLAGS]  create a cache; FLAGS from F Z P U (debug), A (align)
 *   alloc NAME N             allocate N objects of cache NAME
 *   free NAME N              free NAME's N most recent objects
 *   destroy NAME             destroy cache NAME
 *   kmalloc SIZE N           kmalloc N blocks of SIZE bytes
 *   kfree N                  kfree the N most recent blocks
 *   show NAME                print NAME's slabinfo row under the header
 *   drain                    flush magazines, free empty slabs (debugfs drain)
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include "kmemlab.h"

#define DEBUGFS "/sys/kernel/debug/kmemlab/"
#define MAX_CACHES 16
#define MAX_OBJS 100000

static struct cache {
	char name[KMEMLAB_NAME_MAX + 1];
	unsigned int handle, n;
	unsigned int objs[MAX_OBJS];
} *caches[MAX_CACHES];
static unsigned int blocks[MAX_OBJS], nblocks;
static int fd;

static void die(const char *what, const char *arg)
{
	fprintf(stderr, "kmlctl: %s %s: %s\n", what, arg ? arg : "", strerror(errno));
	exit(1);
}

static struct cache *find(const char *name)
{
	for (int i = 0; i < MAX_CACHES; i++)
		if (caches[i] && !strcmp(caches[i]->name, name))
			return caches[i];
	errno = ENOENT;
	die("no cache made here named", name);
	return NULL;
}

static unsigned int number(const char *s)
{
	char *end;
	unsigned long v = strtoul(s ? s : "", &end, 0);

	if (!s || *end || v > MAX_OBJS) {
		errno = EINVAL;
		die("not a count:", s);
	}
	return v;
}

static void show(const char *name)
{
	char line[512];
	FILE *f = fopen(DEBUGFS "slabinfo", "r");
	int n = 0;

	if (!f)
		die("open", DEBUGFS "slabinfo");
	while (fgets(line, sizeof(line), f)) {
		size_t len = strlen(name);

		if (n++ == 1 || (!strncmp(line, name, len) && line[len] == ' '))
			fputs(line, stdout);
	}
	fclose(f);
}

int main(int argc, char **argv)
{
	int i = 1;

	fd = open("/dev/kmemlab", O_RDWR);
	if (fd < 0)
		die("open", "/dev/kmemlab");
	while (i < argc) {
		const char *cmd = argv[i++];
		struct kmemlab_obj_req o = { 0 };

		if (!strcmp(cmd, "cache") && i + 1 < argc) {
			struct kmemlab_cache_req r = { .name = (uintptr_t)argv[i] };
			const char *fl = i + 2 < argc && strspn(argv[i + 2], "FZPUA") ==
					 strlen(argv[i + 2]) ? argv[i + 2] : "";
			int slot;

			r.size = number(argv[i + 1]);
			for (const char *p = fl; *p; p++)
				r.flags |= *p == 'A' ? KMEMLAB_CACHE_HWCACHE_ALIGN :
					   1u << (strchr("FZPU", *p) - "FZPU");
			for (slot = 0; slot < MAX_CACHES && caches[slot]; slot++)
				;
			if (slot == MAX_CACHES || ioctl(fd, KMEMLAB_IOC_CACHE_CREATE, &r))
				die("cache", argv[i]);
			caches[slot] = calloc(1, sizeof(struct cache));
			if (!caches[slot])
				die("calloc", NULL);
			snprintf(caches[slot]->name, sizeof(caches[slot]->name), "%s", argv[i]);
			caches[slot]->handle = r.handle;
			printf("created cache %s of %u-byte objects%s%s\n", argv[i], r.size,
			       *fl ? ", flags " : "", fl);
			i += 2 + (*fl != 0);
		} else if (!strcmp(cmd, "alloc") && i + 1 < argc) {
			struct cache *c = find(argv[i]);

			for (unsigned int k = number(argv[i + 1]); k; k--) {
				o = (struct kmemlab_obj_req){ .cache = c->handle };
				if (c->n == MAX_OBJS || ioctl(fd, KMEMLAB_IOC_CACHE_ALLOC, &o))
					die("alloc from", argv[i]);
				c->objs[c->n++] = o.handle;
			}
			printf("%s: %u objects held\n", c->name, c->n);
			i += 2;
		} else if (!strcmp(cmd, "free") && i + 1 < argc) {
			struct cache *c = find(argv[i]);

			for (unsigned int k = number(argv[i + 1]); k && c->n; k--) {
				o = (struct kmemlab_obj_req){ .handle = c->objs[--c->n] };
				if (ioctl(fd, KMEMLAB_IOC_CACHE_FREE, &o))
					die("free to", argv[i]);
			}
			printf("%s: %u objects held\n", c->name, c->n);
			i += 2;
		} else if (!strcmp(cmd, "destroy") && i < argc) {
			o.cache = find(argv[i])->handle;
			if (ioctl(fd, KMEMLAB_IOC_CACHE_DESTROY, &o))
				die("destroy", argv[i]);
			for (int k = 0; k < MAX_CACHES; k++)
				if (caches[k] && caches[k]->handle == o.cache) {
					free(caches[k]);
					caches[k] = NULL;
				}
			printf("destroyed cache %s\n", argv[i++]);
		} else if (!strcmp(cmd, "kmalloc") && i + 1 < argc) {
			unsigned int size = number(argv[i]);

			for (unsigned int k = number(argv[i + 1]); k; k--) {
				o = (struct kmemlab_obj_req){ .size = size };
				if (nblocks == MAX_OBJS || ioctl(fd, KMEMLAB_IOC_KMALLOC, &o))
					die("kmalloc", argv[i]);
				blocks[nblocks++] = o.handle;
			}
			printf("kmalloc(%u) x %s: ksize %u\n", size, argv[i + 1],
			       number(argv[i + 1]) ? o.size : 0);
			i += 2;
		} else if (!strcmp(cmd, "kfree") && i < argc) {
			for (unsigned int k = number(argv[i]); k && nblocks; k--) {
				o = (struct kmemlab_obj_req){ .handle = blocks[--nblocks] };
				if (ioctl(fd, KMEMLAB_IOC_KFREE, &o))
					die("kfree", NULL);
			}
			printf("%u kmalloc blocks held\n", nblocks);
			i++;
		} else if (!strcmp(cmd, "show") && i < argc) {
			show(argv[i++]);
		} else if (!strcmp(cmd, "drain")) {
			int d = open(DEBUGFS "drain", O_WRONLY);

			if (d < 0 || write(d, "1", 1) != 1)
				die("write", DEBUGFS "drain");
			close(d);
			printf("drained: magazines flushed, empty slabs freed\n");
		} else {
			fprintf(stderr, "kmlctl: bad command %s (see kmlctl.c)\n",
				cmd);
			return 2;
		}
	}
	return 0;
}
