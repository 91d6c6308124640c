/* dest_walk: a destination path resolved one component at a time, never
 * through a symbolic link another user owns. */
#ifndef BULKREG_DEST_WALK_H
#define BULKREG_DEST_WALK_H

#include <stdbool.h>
#include <sys/stat.h>

/* Why a link was refused. */
enum dest_walk_why {
	DEST_WALK_NOT_TRUSTED, /* owned by another user than the caller or root */
	DEST_WALK_HARD_LINKED, /* a symbolic link with a second name: whoever
				* put this name there is not known */
	DEST_WALK_STICKY,      /* root's, in a sticky directory all may write,
				* where only the caller's own are followed */
};

/* Where the refused link was met. */
enum dest_walk_where {
	DEST_WALK_AT_PATH,   /* the path's last component itself */
	DEST_WALK_ON_PATH,   /* a directory of the path as given */
	DEST_WALK_IN_CHAIN,  /* reached by following a link of one's own */
};

/*
 * dest_walk resolves `path` as the kernel would, but by hand: each
 * component is opened with O_PATH|O_NOFOLLOW relative to the directory
 * before it, and each symbolic link met -- the path's own, a directory on
 * its way, any link its target names, at any depth -- must belong to the
 * caller (euid) or root before its text is followed; it must have one
 * name only (a hard link to a symbolic link says nothing of who put it
 * there), and in a sticky directory that all may write (/tmp) it must be
 * the caller's own: root's link there may be anyone's hard link to it.  A link in /proc
 * (/proc/self/fd/N, /proc/self) whose object is not a regular file or a
 * directory (a pipe, a terminal) ends the walk there: it names that object,
 * which only the kernel can reach.
 *
 * What is checked is what is used: `dirfd` is the very directory the last
 * component was looked up in, kept open, so a directory swapped for a link
 * afterwards changes nothing for whoever creates and renames through it.
 */
struct dest_walk {
	int dirfd;         /* O_PATH: the directory holding `name` */
	char *name;        /* the last component (never "", "." or "..") */
	char *shown;       /* the path resolved, for messages: the path as
			    * given when no link was followed */
	bool followed;     /* a link was followed on the way */
	bool end_link;     /* the last component was a link (its text named
			    * `name`) */
	bool exists;       /* something is at name; sb says what */
	bool magic;        /* name is a /proc link to sb's object: open it
			    * following, and compare */
	int proc_fd;       /* N when the path ends in this process's own
			    * /proc/self/fd/N (by any name: /dev/stdout,
			    * /dev/fd/1), else -1 */
	struct stat sb;    /* also, with EISDIR, the directory at the end */
	/* A refusal (dest_walk returned DEST_WALK_REFUSED): */
	char *link;        /* the link, as shown */
	struct stat link_sb;
	enum dest_walk_where where;
	enum dest_walk_why why;
};

enum dest_walk_result {
	DEST_WALK_OK,
	DEST_WALK_REFUSED, /* link, link_sb, where say which link */
	DEST_WALK_ERROR,   /* errno says why (ENOENT, EISDIR, ELOOP, ENOMEM,
			    * ENOTDIR, EACCES, ...) */
};

/* Resolves `path` into w (which it initialises); dest_walk_free releases
 * it whatever the result. */
enum dest_walk_result dest_walk(const char *path, struct dest_walk *w);

void dest_walk_free(struct dest_walk *w);

/* Whether the directory `sb` describes lets other users put, delete or
 * replace files in it: writable by all, or by a group other than the
 * caller's effective group, or owned by another user than the caller or
 * root.  For warnings (the database's directory, -o's, --rejects'). */
bool dest_dir_shared(const struct stat *sb);

#endif
