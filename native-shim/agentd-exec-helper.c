/*
 * agentd-exec-helper: the child side of one agentd spawn (DESIGN.md, decisions 1 and 2).
 *
 * The agent never forks: it posix_spawn's this helper with a clean signal mask, default signal
 * dispositions and its own session (POSIX_SPAWN_SETSID), with the session's stdin/stdout/stderr
 * (pipe ends or the PTY slave) on fds 0, 1, 2 and the write end of the exec report pipe on fd 3.
 * Being a fresh single-threaded process, the helper may allocate and read files before it execs
 * the target.
 *
 * Spec format (argv; the helper's own environment is ignored, the agent spawns it with none):
 *
 *   agentd-exec-helper [OPTION]... -- CMD [ARG]...
 *
 *   --tty                   fd 0 is a PTY slave: make it the controlling terminal
 *   --cwd DIR               chdir(DIR) before anything that depends on the user
 *   --rlimit NAME:SOFT:HARD setrlimit; NAME lower case as in PROTOCOL.md (nofile, nproc, ...),
 *                           SOFT and HARD unsigned decimal, 18446744073709551615 = unlimited;
 *                           repeatable, applied in order
 *   --restricted            PR_SET_NO_NEW_PRIVS, no ambient caps, no CAP_SYS_ADMIN anywhere
 *   --user SPEC             "name", "uid", "name:group" or "uid:gid" (group may be a name or gid);
 *                           a numeric uid without a passwd entry is allowed: its gid is then the
 *                           same number, no supplementary groups, HOME "/"
 *   --env K=V               one entry of the target's environment; repeatable; the target gets
 *                           exactly these entries (plus HOME, see below)
 *
 *   CMD is exec'd with argv CMD ARG...; a CMD without '/' is searched in the PATH of the target's
 *   environment (the default "/usr/local/bin:/usr/bin:/bin" when it has none; an empty element
 *   is the current directory). A file that is not a binary and has no "#!" line fails with ENOEXEC;
 *   unlike execvp, there is no fallback to /bin/sh.
 *
 * HOME: when the environment has no HOME, it is set from the passwd entry of the target user
 * (of the helper's own uid when there is no --user), "/" when that uid has no entry.
 *
 * Exec report: when a step fails, the helper writes one line "STAGE ERRNO\n" to fd 3 (STAGE names
 * the step, e.g. "chdir", "setrlimit(RLIMIT_NOFILE)", "getpwnam", "execve"; ERRNO is decimal, 0
 * when the step failed without an errno, e.g. no such user) and exits 127. fd 3 is close-on-exec,
 * so EOF on the agent's end with nothing read means the target is running.
 *
 * Why static: the helper is linked statically (-static-pie, agentd/pom.xml) because every session
 * pays for its exec before the target's own. The dynamic loader's work (mapping libc, relocating)
 * cost about 140 us per exec on the 2-core benchmark VM, and glibc's NSS (nsswitch.conf read on
 * every exec, for HOME) about 60 us more; together about 12% of the agent's exec round trip
 * (BENCHMARKS.md). The cost:
 * a static glibc cannot use NSS sources other than its built-in "files" without dlopen'ing them,
 * which loads a second, shared libc into the process and crashed it (SIGSEGV in initgroups with
 * nsswitch.conf's "group: files systemd", Debian 12's default). So the helper does not call
 * getpwnam/getgrnam/initgroups: it reads /etc/passwd and /etc/group itself, like the "files" source.
 * Users from other sources (systemd's DynamicUser, LDAP, sssd) are not seen; the guest image's
 * nsswitch.conf lists only "files". The binary is about 820 KB instead of 26 KB.
 *
 * The steps below run top to bottom in the order they happen.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#define REPORT_FD 3
#define FAILED_EXIT 127
#define DEFAULT_PATH "/usr/local/bin:/usr/bin:/bin"

/* ---- reporting ------------------------------------------------------------------------------ */

static void fail(const char *stage, int err) __attribute__((noreturn));

static void fail(const char *stage, int err)
{
    char line[160];
    int n = snprintf(line, sizeof line, "%s %d\n", stage, err);
    if (n > 0) {
        ssize_t ignored = write(REPORT_FD, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
        (void)ignored;
    }
    _exit(FAILED_EXIT);
}

/* ---- the spec ------------------------------------------------------------------------------- */

struct limit {
    int resource;
    const char *stage;  /* "setrlimit(RLIMIT_NOFILE)" */
    rlim_t soft, hard;
};

struct spec {
    int tty;
    int restricted;
    const char *cwd;
    const char *user;
    struct limit *limits;
    int nlimits;
    char **env;        /* NULL-terminated */
    int nenv;
    char **argv;       /* CMD ARG..., NULL-terminated (points into our argv) */
};

#define LIMIT(name, resource) {name, resource, "setrlimit(" #resource ")"}
static const struct {
    const char *name;
    int resource;
    const char *stage;
} LIMIT_NAMES[] = {
    LIMIT("cpu", RLIMIT_CPU),           LIMIT("fsize", RLIMIT_FSIZE),     LIMIT("data", RLIMIT_DATA),
    LIMIT("stack", RLIMIT_STACK),       LIMIT("core", RLIMIT_CORE),       LIMIT("rss", RLIMIT_RSS),
    LIMIT("nproc", RLIMIT_NPROC),       LIMIT("nofile", RLIMIT_NOFILE),   LIMIT("memlock", RLIMIT_MEMLOCK),
    LIMIT("as", RLIMIT_AS),             LIMIT("locks", RLIMIT_LOCKS),     LIMIT("sigpending", RLIMIT_SIGPENDING),
    LIMIT("msgqueue", RLIMIT_MSGQUEUE), LIMIT("nice", RLIMIT_NICE),       LIMIT("rtprio", RLIMIT_RTPRIO),
    LIMIT("rttime", RLIMIT_RTTIME),
};

static int parse_u64(const char *s, const char *end, rlim_t *out)
{
    char *stop;
    if (s == end || !isdigit((unsigned char)*s))
        return -1;
    errno = 0;
    unsigned long long v = strtoull(s, &stop, 10);
    if (errno != 0 || stop != end)
        return -1;
    *out = (rlim_t)v;
    return 0;
}

/* "NAME:SOFT:HARD" */
static int parse_limit(const char *text, struct limit *out)
{
    const char *c1 = strchr(text, ':');
    const char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    if (!c2)
        return -1;
    size_t name_len = (size_t)(c1 - text);
    for (size_t i = 0; i < sizeof LIMIT_NAMES / sizeof LIMIT_NAMES[0]; i++) {
        if (strlen(LIMIT_NAMES[i].name) == name_len && strncmp(LIMIT_NAMES[i].name, text, name_len) == 0) {
            out->stage = LIMIT_NAMES[i].stage;
            out->resource = LIMIT_NAMES[i].resource;
            return parse_u64(c1 + 1, c2, &out->soft) || parse_u64(c2 + 1, c2 + 1 + strlen(c2 + 1), &out->hard);
        }
    }
    return -1;
}

static void parse_spec(int argc, char **argv, struct spec *spec)
{
    memset(spec, 0, sizeof *spec);
    spec->limits = calloc((size_t)argc, sizeof *spec->limits);
    spec->env = calloc((size_t)argc + 2, sizeof *spec->env);  /* + HOME + NULL */
    if (!spec->limits || !spec->env)
        fail("spec", ENOMEM);
    int i = 1;
    for (; i < argc; i++) {
        const char *opt = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(opt, "--") == 0) {
            i++;
            break;
        } else if (strcmp(opt, "--tty") == 0) {
            spec->tty = 1;
        } else if (strcmp(opt, "--restricted") == 0) {
            spec->restricted = 1;
        } else if (val && strcmp(opt, "--cwd") == 0) {
            spec->cwd = val;
            i++;
        } else if (val && strcmp(opt, "--user") == 0) {
            spec->user = val;
            i++;
        } else if (val && strcmp(opt, "--env") == 0) {
            spec->env[spec->nenv++] = argv[++i];
        } else if (val && strcmp(opt, "--rlimit") == 0) {
            if (parse_limit(val, &spec->limits[spec->nlimits++]) != 0)
                fail("spec", EINVAL);
            i++;
        } else {
            fail("spec", EINVAL);
        }
    }
    if (i >= argc || argv[i][0] == '\0')
        fail("spec", EINVAL);
    spec->argv = &argv[i];
}

/* ---- the steps ------------------------------------------------------------------------------ */

/* posix_spawn did most of this (SETSIGDEF, SETSIGMASK), but glibc leaves its two internal signals
 * (32, 33) ignored in the child and its sigaction() refuses to touch them; the raw system call does
 * not. An all-zero kernel sigaction is SIG_DFL with no flags and an empty mask on every ABI. */
static void reset_signals(void)
{
    unsigned long zero_kernel_sigaction[8] = {0};
    for (int sig = 1; sig < NSIG; sig++) {
        if (sig == SIGKILL || sig == SIGSTOP)
            continue;
        if (syscall(SYS_rt_sigaction, sig, zero_kernel_sigaction, NULL, NSIG / 8) != 0)
            fail("rt_sigaction", errno);
    }
    sigset_t none;
    sigemptyset(&none);
    if (sigprocmask(SIG_SETMASK, &none, NULL) != 0)
        fail("sigprocmask", errno);
}

static void take_controlling_tty(void)
{
    if (ioctl(STDIN_FILENO, TIOCSCTTY, 0) != 0)
        fail("ioctl(TIOCSCTTY)", errno);
}

/* Everything above the report fd: fds the spawn let through would otherwise reach the target. */
static void close_inherited_fds(void)
{
    if (syscall(SYS_close_range, REPORT_FD + 1, ~0U, 0) == 0)
        return;
    /* Kernels before 5.9: walk /proc/self/fd, else every number up to the fd limit. */
    DIR *dir = opendir("/proc/self/fd");
    if (dir) {
        int dir_fd = dirfd(dir);
        struct dirent *e;
        while ((e = readdir(dir)) != NULL) {
            int fd = atoi(e->d_name);
            if (fd > REPORT_FD && fd != dir_fd)
                close(fd);
        }
        closedir(dir);
        return;
    }
    struct rlimit nofile;
    rlim_t max = getrlimit(RLIMIT_NOFILE, &nofile) == 0 ? nofile.rlim_cur : 1024;
    for (rlim_t fd = REPORT_FD + 1; fd < max && fd < (rlim_t)1 << 20; fd++)
        close((int)fd);
}

static void change_directory(const char *cwd)
{
    if (chdir(cwd) != 0)
        fail("chdir", errno);
}

static void set_limits(const struct limit *limits, int n)
{
    for (int i = 0; i < n; i++) {
        struct rlimit rl = {limits[i].soft, limits[i].hard};
        if (setrlimit(limits[i].resource, &rl) != 0)
            fail(limits[i].stage, errno);
    }
}

/* Nothing gained by exec (setuid bits, file caps), no ambient caps, and no CAP_SYS_ADMIN in any
 * set, so the target cannot mount, unshare or otherwise administer the guest. */
static void apply_restricted_profile(void)
{
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        fail("prctl(PR_SET_NO_NEW_PRIVS)", errno);
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0)
        fail("prctl(PR_CAP_AMBIENT_CLEAR_ALL)", errno);
    if (prctl(PR_CAPBSET_READ, CAP_SYS_ADMIN, 0, 0, 0) == 1 && prctl(PR_CAPBSET_DROP, CAP_SYS_ADMIN, 0, 0, 0) != 0)
        fail("prctl(PR_CAPBSET_DROP)", errno);

    struct __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
    if (syscall(SYS_capget, &header, data) != 0)
        fail("capget", errno);
    unsigned word = CAP_TO_INDEX(CAP_SYS_ADMIN);
    unsigned mask = CAP_TO_MASK(CAP_SYS_ADMIN);
    data[word].effective &= ~mask;
    data[word].permitted &= ~mask;
    data[word].inheritable &= ~mask;
    if (syscall(SYS_capset, &header, data) != 0)
        fail("capset", errno);
}

struct target_user {
    uid_t uid;
    gid_t gid;
    char *name;  /* NULL when the uid has no passwd entry */
    char *home;  /* "/" when the uid has no passwd entry */
};

static int parse_id(const char *s, unsigned *out)
{
    rlim_t v;
    if (parse_u64(s, s + strlen(s), &v) != 0 || v > 0xfffffffeULL)  /* (unsigned)-1 means "no change" */
        return -1;
    *out = (unsigned)v;
    return 0;
}

static char *copy_or_fail(const char *s)
{
    char *copy = strdup(s);
    if (!copy)
        fail("strdup", ENOMEM);
    return copy;
}

/* The user database: /etc/passwd and /etc/group, read the way glibc's "files" NSS source reads them
 * (first matching entry wins; blank lines, '#' lines and malformed entries are skipped; a missing
 * file has no entries). Not getpwnam/initgroups: see "Why static" in the header. The stages keep
 * those functions' names, which the agent maps to user_setup_failed. */
#define PASSWD_FILE "/etc/passwd"
#define GROUP_FILE "/etc/group"
enum { PW_NAME, PW_PASSWD, PW_UID, PW_GID, PW_GECOS, PW_DIR, PW_SHELL, PW_FIELDS };
enum { GR_NAME, GR_PASSWD, GR_GID, GR_MEMBERS, GR_FIELDS };

struct user_db {
    FILE *file;         /* NULL: no entries */
    const char *stage;  /* reported when reading fails; NULL: a read error just ends the entries */
    char *line;
    size_t capacity;
};

static void db_open(struct user_db *db, const char *path, const char *stage)
{
    db->stage = stage;
    db->line = NULL;
    db->capacity = 0;
    db->file = fopen(path, "re");
    if (!db->file && errno != ENOENT && stage)
        fail(stage, errno);
}

/* The next entry split at ':' in place into fields[0..max-1] (the last one keeps any further ':'),
 * skipping entries with fewer than min fields; fields missing after those are empty, as glibc reads
 * them. Returns 1, or 0 after the last entry. */
static int db_next(struct user_db *db, char **fields, int min, int max)
{
    if (!db->file)
        return 0;
    for (;;) {
        ssize_t len = getline(&db->line, &db->capacity, db->file);
        if (len < 0) {
            if (ferror(db->file) && db->stage)
                fail(db->stage, errno ? errno : EIO);
            return 0;
        }
        if (len > 0 && db->line[len - 1] == '\n')
            db->line[len - 1] = '\0';
        char *p = db->line;
        while (isspace((unsigned char)*p))
            p++;
        if (*p == '\0' || *p == '#')
            continue;
        int n = 0;
        fields[n++] = p;
        while (n < max && (p = strchr(p, ':')) != NULL) {
            *p++ = '\0';
            fields[n++] = p;
        }
        if (n < min)
            continue;
        static char empty[] = "";
        while (n < max)
            fields[n++] = empty;
        return 1;
    }
}

static void db_close(struct user_db *db)
{
    if (db->file)
        fclose(db->file);
    free(db->line);
}

/* getpwnam (name != NULL) or getpwuid (uid): fills out and returns 1, or returns 0 for no entry. */
static int find_passwd(const char *name, uid_t uid, const char *stage, struct target_user *out)
{
    struct user_db db;
    char *field[PW_FIELDS];
    unsigned entry_uid = 0, entry_gid = 0;
    int found = 0;
    db_open(&db, PASSWD_FILE, stage);
    while (!found && db_next(&db, field, PW_GID + 1, PW_FIELDS)) {
        if (parse_id(field[PW_UID], &entry_uid) != 0 || parse_id(field[PW_GID], &entry_gid) != 0)
            continue;
        found = name ? strcmp(field[PW_NAME], name) == 0 : entry_uid == uid;
    }
    if (found) {
        out->uid = entry_uid;
        out->gid = entry_gid;
        out->name = copy_or_fail(field[PW_NAME]);
        out->home = copy_or_fail(field[PW_DIR]);
    }
    db_close(&db);
    return found;
}

/* getgrnam: the gid of the first group with this name. */
static gid_t find_group(const char *name)
{
    struct user_db db;
    char *field[GR_FIELDS];
    unsigned gid;
    int found = 0;
    db_open(&db, GROUP_FILE, "getgrnam");
    while (!found && db_next(&db, field, GR_GID + 1, GR_FIELDS))
        found = strcmp(field[GR_NAME], name) == 0 && parse_id(field[GR_GID], &gid) == 0;
    db_close(&db);
    if (!found)
        fail("getgrnam", 0);
    return gid;
}

static void resolve_user(const char *text, struct target_user *out)
{
    char *user = copy_or_fail(text);
    char *group = strchr(user, ':');
    if (group)
        *group++ = '\0';

    unsigned uid;
    if (parse_id(user, &uid) == 0) {
        if (!find_passwd(NULL, uid, "getpwuid", out)) {
            out->uid = uid;
            out->gid = uid;
            out->name = NULL;
            out->home = copy_or_fail("/");
        }
    } else if (!find_passwd(user, 0, "getpwnam", out)) {
        fail("getpwnam", 0);
    }

    if (group) {
        unsigned gid;
        out->gid = parse_id(group, &gid) == 0 ? gid : find_group(group);
    }
    free(user);
}

/* A group entry's member list: names separated by ','. */
static int lists_member(const char *members, const char *name)
{
    size_t len = strlen(name);
    for (const char *m = members;;) {
        const char *end = strchrnul(m, ',');
        if ((size_t)(end - m) == len && strncmp(m, name, len) == 0)
            return 1;
        if (*end == '\0')
            return 0;
        m = end + 1;
    }
}

/* initgroups: the primary gid and every group that lists the user as a member, each once. */
static void init_groups(const char *name, gid_t primary)
{
    size_t n = 0, capacity = 16;
    gid_t *groups = malloc(capacity * sizeof *groups);
    if (!groups)
        fail("initgroups", ENOMEM);
    groups[n++] = primary;

    struct user_db db;
    char *field[GR_FIELDS];
    db_open(&db, GROUP_FILE, "initgroups");
    while (db_next(&db, field, GR_GID + 1, GR_FIELDS)) {
        unsigned gid;
        if (parse_id(field[GR_GID], &gid) != 0 || !lists_member(field[GR_MEMBERS], name))
            continue;
        size_t i = 0;
        while (i < n && groups[i] != gid)
            i++;
        if (i < n)
            continue;
        if (n == capacity) {
            gid_t *grown = realloc(groups, 2 * capacity * sizeof *groups);
            if (!grown)
                fail("initgroups", ENOMEM);
            groups = grown;
            capacity *= 2;
        }
        groups[n++] = gid;
    }
    db_close(&db);
    if (setgroups(n, groups) != 0)
        fail("initgroups", errno);
    free(groups);
}

static void set_groups(const struct target_user *user)
{
    if (user->name)
        init_groups(user->name, user->gid);
    else if (setgroups(0, NULL) != 0)
        fail("setgroups", errno);
}

static void set_gid(gid_t gid)
{
    if (setgid(gid) != 0)
        fail("setgid", errno);
}

static void set_uid(uid_t uid)
{
    if (setuid(uid) != 0)
        fail("setuid", errno);
}

static int env_has(char **env, const char *key)
{
    size_t len = strlen(key);
    for (; *env; env++)
        if (strncmp(*env, key, len) == 0 && (*env)[len] == '=')
            return 1;
    return 0;
}

/* env has room for one more entry (parse_spec sized it). */
static void set_home(struct spec *spec, const char *home)
{
    if (env_has(spec->env, "HOME"))
        return;
    struct target_user self;
    if (!home)  /* no --user: the helper's own uid; an unreadable /etc/passwd counts as no entry */
        home = find_passwd(NULL, getuid(), NULL, &self) ? self.home : "/";
    char *entry = malloc(strlen("HOME=") + strlen(home) + 1);
    if (!entry)
        fail("setenv(HOME)", ENOMEM);
    strcpy(entry, "HOME=");
    strcat(entry, home);
    spec->env[spec->nenv++] = entry;
    spec->env[spec->nenv] = NULL;
}

static const char *env_get(char **env, const char *key)
{
    size_t len = strlen(key);
    for (; *env; env++)
        if (strncmp(*env, key, len) == 0 && (*env)[len] == '=')
            return *env + len + 1;
    return NULL;
}

/* execvpe with the target's PATH. Error precedence as glibc's: a directory we could not search
 * or a file we may not run (EACCES) is remembered; names missing from a directory go on to the
 * next; any other error ends the search. */
static void exec_target(char **argv, char **env)
{
    const char *cmd = argv[0];
    if (strchr(cmd, '/')) {
        execve(cmd, argv, env);
        fail("execve", errno);
    }
    const char *path = env_get(env, "PATH");
    if (!path)
        path = DEFAULT_PATH;
    size_t cmd_len = strlen(cmd);
    char *candidate = malloc(strlen(path) + cmd_len + 2);
    if (!candidate)
        fail("execve", ENOMEM);
    int saw_eacces = 0;
    const char *dir = path;
    for (;;) {
        const char *end = strchrnul(dir, ':');
        size_t dir_len = (size_t)(end - dir);
        if (dir_len == 0) {
            memcpy(candidate, cmd, cmd_len + 1);
        } else {
            memcpy(candidate, dir, dir_len);
            candidate[dir_len] = '/';
            memcpy(candidate + dir_len + 1, cmd, cmd_len + 1);
        }
        execve(candidate, argv, env);
        switch (errno) {
        case EACCES:
            saw_eacces = 1;
            break;
        case ENOENT:
        case ENOTDIR:
        case ESTALE:
        case ENODEV:
        case ETIMEDOUT:
            break;
        default:
            fail("execve", errno);
        }
        if (*end == '\0')
            break;
        dir = end + 1;
    }
    fail("execve", saw_eacces ? EACCES : ENOENT);
}

int main(int argc, char **argv)
{
    /* The spawn's dup2 onto fd 3 cleared close-on-exec; without it the agent would never see EOF. */
    if (fcntl(REPORT_FD, F_SETFD, FD_CLOEXEC) != 0)
        _exit(FAILED_EXIT);

    struct spec spec;
    parse_spec(argc, argv, &spec);

    reset_signals();
    if (spec.tty)
        take_controlling_tty();
    close_inherited_fds();
    if (spec.cwd)
        change_directory(spec.cwd);
    set_limits(spec.limits, spec.nlimits);
    if (spec.restricted)
        apply_restricted_profile();

    const char *home = NULL;  /* NULL: the helper's own uid's entry */
    if (spec.user) {
        struct target_user user;
        resolve_user(spec.user, &user);
        set_groups(&user);
        set_gid(user.gid);
        set_uid(user.uid);
        home = user.home;
    }
    set_home(&spec, home);

    exec_target(spec.argv, spec.env);
}
