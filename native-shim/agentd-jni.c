/*
 * The agent's libc calls and its spawn call, as JNI methods: io.agentd.agent.sys.LibC (one method per
 * libc function) and io.agentd.agent.spawn.NativeShim (agentd_spawn, in agentd-shim.c). Built into
 * libagentd-shim.so with agentd-shim.c; the agent loads the library once (System.load) and
 * JNI_OnLoad, at the end of this file, registers every method below: an entry here without its Java
 * method fails the load; a Java native method without an entry here would fail at its first call,
 * so NativeLoadTest checks that the table has one entry for each (methodsRegistered).
 *
 * Why JNI and not a generated binding (jnr-ffi, which bound these before): generating and loading
 * the binding's classes took most of the agent's start before it could serve a host (BENCHMARKS.md,
 * "Thirtieth session"); registering these takes well under a millisecond.
 *
 * Rules, followed by every wrapper below:
 *  1. A wrapper makes the one libc call its Java method names, with the same arguments and result;
 *     nothing else (no retry on EINTR, no error turned into an exception: the Java side decides).
 *     One exception: read, write and epoll_wait, which carry every byte and every wake-up of the
 *     agent's loop, are the raw system calls (raw_read and the rest, below), same arguments,
 *     result and errno: glibc's wrappers are thread cancellation points, which mark the thread
 *     cancellable and back around each call for a pthread_cancel the JVM never sends.
 *  2. errno: each wrapper saves errno in a thread-local right after its call (SAVE_ERRNO); LibC's
 *     lastErrno() reads it. The JVM makes calls of its own on the same thread between the wrapper's
 *     return and the Java code that reads errno, so the real errno is gone by then.
 *  3. Java arrays are copied, never pinned: in before the call for what the call reads, out after it
 *     for what it writes (GetXArrayRegion / SetXArrayRegion), through a stack buffer or, past it, a
 *     malloc'd one. A pinned array (GetPrimitiveArrayCritical) would hold the garbage collector for
 *     every thread while a call blocks.
 *  4. A ByteBuffer argument is a direct buffer (native memory) passed by its address: the struct
 *     buffers of LibC's callers, from its first byte (io.agentd.agent.sys.Os#allocate). A null or
 *     heap buffer is a bug in the agent: the call is not made and answers EFAULT, as the kernel
 *     answers a bad address (cfmakeraw, which has no result, does nothing; NativeShim.spawn answers
 *     -1 with lastErrno EFAULT and writes no result). The one exception: accept4's address may be
 *     null (NULL: no address wanted, and then no length either).
 *  5. An offset and a count into a Java array or a direct buffer are checked against its length (a
 *     direct buffer's: its capacity, GetDirectBufferCapacity) before any copy or call: outside it,
 *     the call is not made and answers EFAULT. The count is whatever says how much of the buffer
 *     the call reads or writes: bytes (bind's and connect's address length; the length accept4 and
 *     getsockopt are given in a buffer that must hold a socklen_t, passed on as a copy, so that the
 *     kernel reads the length checked), structs (poll's nfds, epoll_wait's max), or the one struct
 *     a call takes (termios, timespec, epoll_event, the spawn's spec and result). The kernel answers
 *     EFAULT only past the mapping: inside it, too large a count reads or writes whatever follows
 *     the buffer. A null array answers EFAULT too, except waitpid's status (NULL: not wanted).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <jni.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h> /* renameat */
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "agentd-shim.h"

#define STACK_COPY_BYTES 8192

static __thread int saved_errno;

/* Makes the call, then keeps its errno (rule 2); the call's result. */
#define SAVE_ERRNO(call) ({ __typeof__(call) result_ = (call); saved_errno = errno; result_; })

/* Rule 1's exception: the system calls themselves, without glibc's cancellation-point wrappers. */
static ssize_t raw_read(int fd, void *buf, size_t count) {
    return syscall(SYS_read, fd, buf, count);
}

static ssize_t raw_write(int fd, const void *buf, size_t count) {
    return syscall(SYS_write, fd, buf, count);
}

/* epoll_pwait with no signal mask is epoll_wait (aarch64 has only the former); 8: the kernel's sigset. */
static int raw_epoll_wait(int epfd, struct epoll_event *events, int max, int timeout_ms) {
    return (int) syscall(SYS_epoll_pwait, epfd, events, max, timeout_ms, NULL, 8);
}

static void *address_of(JNIEnv *env, jobject buffer) {
    return buffer == NULL ? NULL : (*env)->GetDirectBufferAddress(env, buffer);
}

/* A struct buffer that is null or not direct (rule 4), or too small for what the call takes (rule 5). */
#define NEED_DIRECT(ptr) \
    do { if ((ptr) == NULL) { saved_errno = EFAULT; return -1; } } while (0)

/* Rule 5: off and count inside array, else EFAULT. */
static int outside(JNIEnv *env, jarray array, jlong off, jlong count) {
    if (array == NULL) {
        return count != 0;
    }
    jsize length = (*env)->GetArrayLength(env, array);
    return off < 0 || count < 0 || off > length || count > length - off;
}

/* A copy buffer of count bytes (rule 3): the stack one when it fits, else malloc'd (NULL: ENOMEM). */
static char *copy_buffer(char *on_stack, jlong count) {
    return count <= STACK_COPY_BYTES ? on_stack : malloc((size_t) count);
}

static void free_copy(char *buffer, char *on_stack) {
    if (buffer != on_stack) {
        free(buffer);
    }
}

/* A NUL-terminated copy of a Java byte[] path in a stack or malloc'd buffer; NULL: ENOMEM saved. */
static char *path_copy(JNIEnv *env, jbyteArray path, char *on_stack) {
    if (path == NULL) { /* rule 5 */
        saved_errno = EFAULT;
        return NULL;
    }
    jsize length = (*env)->GetArrayLength(env, path);
    char *copy = copy_buffer(on_stack, (jlong) length + 1);
    if (copy == NULL) {
        saved_errno = ENOMEM;
        return NULL;
    }
    (*env)->GetByteArrayRegion(env, path, 0, length, (jbyte *) copy);
    copy[length] = '\0';
    return copy;
}

/* count bytes of a direct buffer from off (rule 5): their address, or NULL for a null or heap buffer
 * or a region outside it. */
static char *direct_region(JNIEnv *env, jobject buffer, jint off, jlong count) {
    char *base = address_of(env, buffer);
    if (base == NULL || off < 0 || count < 0 || count > (*env)->GetDirectBufferCapacity(env, buffer) - off) {
        return NULL;
    }
    return base + off;
}

/* count structs of size bytes at the start of a direct buffer (rule 5): their address, or NULL for a
 * null or heap buffer, a negative count, or more than the buffer holds. (Divided, not multiplied:
 * no count overflows.) */
static void *direct_structs(JNIEnv *env, jobject buffer, jlong count, size_t size) {
    void *base = address_of(env, buffer);
    if (base == NULL || count < 0 || count > (*env)->GetDirectBufferCapacity(env, buffer) / (jlong) size) {
        return NULL;
    }
    return base;
}

/* The one struct of size bytes a call takes, at the start of a direct buffer (rule 5). */
static void *direct_struct(JNIEnv *env, jobject buffer, size_t size) {
    return direct_structs(env, buffer, 1, size);
}

/* ---- errno and platform constants ------------------------------------------------------- */

static jint lib_last_errno(JNIEnv *env, jobject self) {
    (void) env; (void) self;
    return saved_errno;
}

static jlong lib_address(JNIEnv *env, jclass cls, jobject buffer) {
    (void) cls;
    return (jlong) (intptr_t) address_of(env, buffer);
}

static jint lib_open_flag(JNIEnv *env, jclass cls, jint which) {
    (void) env; (void) cls;
    switch (which) {
    case 0: return O_NOFOLLOW;
    case 1: return O_DIRECTORY;
    default: return 0;
    }
}

static jstring lib_errno_name(JNIEnv *env, jclass cls, jint err) {
    (void) cls;
    const char *name = strerrorname_np(err);
    return name == NULL ? NULL : (*env)->NewStringUTF(env, name);
}

static jstring lib_errno_description(JNIEnv *env, jclass cls, jint err) {
    (void) cls;
    const char *text = strerrordesc_np(err);
    return text == NULL ? NULL : (*env)->NewStringUTF(env, text);
}

/* ---- file descriptors ------------------------------------------------------------------- */

static jint lib_open(JNIEnv *env, jobject self, jbyteArray path, jint flags, jint mode) {
    (void) self;
    char on_stack[STACK_COPY_BYTES];
    char *copy = path_copy(env, path, on_stack);
    if (copy == NULL) {
        return -1;
    }
    int fd = SAVE_ERRNO(open(copy, flags, (mode_t) mode));
    free_copy(copy, on_stack);
    return fd;
}

static jint lib_close(JNIEnv *env, jobject self, jint fd) {
    (void) env; (void) self;
    return SAVE_ERRNO(close(fd));
}

static jlong lib_read_array(JNIEnv *env, jobject self, jint fd, jbyteArray buf, jint off, jlong count) {
    (void) self;
    if (count < 0 || outside(env, buf, off, count)) {
        saved_errno = EFAULT;
        return -1;
    }
    char on_stack[STACK_COPY_BYTES];
    char *copy = copy_buffer(on_stack, count);
    if (copy == NULL) {
        saved_errno = ENOMEM;
        return -1;
    }
    ssize_t n = SAVE_ERRNO(raw_read(fd, copy, (size_t) count));
    if (n > 0) {
        (*env)->SetByteArrayRegion(env, buf, off, (jsize) n, (const jbyte *) copy);
    }
    free_copy(copy, on_stack);
    return n;
}

static jlong lib_read_direct(JNIEnv *env, jobject self, jint fd, jobject buf, jint off, jlong count) {
    (void) self;
    char *at = direct_region(env, buf, off, count);
    NEED_DIRECT(at);
    return SAVE_ERRNO(raw_read(fd, at, (size_t) count));
}

static jlong lib_write_array(JNIEnv *env, jobject self, jint fd, jbyteArray buf, jint off, jlong count) {
    (void) self;
    if (count < 0 || outside(env, buf, off, count)) {
        saved_errno = EFAULT;
        return -1;
    }
    char on_stack[STACK_COPY_BYTES];
    char *copy = copy_buffer(on_stack, count);
    if (copy == NULL) {
        saved_errno = ENOMEM;
        return -1;
    }
    if (count > 0) {
        (*env)->GetByteArrayRegion(env, buf, off, (jsize) count, (jbyte *) copy);
    }
    ssize_t n = SAVE_ERRNO(raw_write(fd, copy, (size_t) count));
    free_copy(copy, on_stack);
    return n;
}

static jlong lib_write_direct(JNIEnv *env, jobject self, jint fd, jobject buf, jint off, jlong count) {
    (void) self;
    char *at = direct_region(env, buf, off, count);
    NEED_DIRECT(at);
    return SAVE_ERRNO(raw_write(fd, at, (size_t) count));
}

static jint lib_pipe2(JNIEnv *env, jobject self, jintArray fds, jint flags) {
    (void) self;
    if (outside(env, fds, 0, 2)) {
        saved_errno = EFAULT;
        return -1;
    }
    int pair[2];
    int r = SAVE_ERRNO(pipe2(pair, flags));
    if (r == 0) {
        (*env)->SetIntArrayRegion(env, fds, 0, 2, pair);
    }
    return r;
}

static jint lib_dup3(JNIEnv *env, jobject self, jint old_fd, jint new_fd, jint flags) {
    (void) env; (void) self;
    return SAVE_ERRNO(dup3(old_fd, new_fd, flags));
}

static jlong lib_splice(JNIEnv *env, jobject self, jint fd_in, jint fd_out, jlong len, jint flags) {
    (void) env; (void) self;
    return SAVE_ERRNO(splice(fd_in, NULL, fd_out, NULL, (size_t) len, (unsigned) flags));
}

static jint lib_fcntl(JNIEnv *env, jobject self, jint fd, jint cmd, jint arg) {
    (void) env; (void) self;
    return SAVE_ERRNO(fcntl(fd, cmd, arg));
}

static jint lib_eventfd(JNIEnv *env, jobject self, jint initval, jint flags) {
    (void) env; (void) self;
    return SAVE_ERRNO(eventfd((unsigned) initval, flags));
}

/* ---- poll and epoll --------------------------------------------------------------------- */

static jint lib_poll(JNIEnv *env, jobject self, jobject fds, jlong nfds, jint timeout_ms) {
    (void) self;
    void *p = direct_structs(env, fds, nfds, sizeof(struct pollfd));
    NEED_DIRECT(p);
    return SAVE_ERRNO(poll(p, (nfds_t) nfds, timeout_ms));
}

static jint lib_epoll_create1(JNIEnv *env, jobject self, jint flags) {
    (void) env; (void) self;
    return SAVE_ERRNO(epoll_create1(flags));
}

static jint lib_epoll_ctl(JNIEnv *env, jobject self, jint epfd, jint op, jint fd, jobject event) {
    (void) self;
    void *p = direct_struct(env, event, sizeof(struct epoll_event));
    NEED_DIRECT(p);
    return SAVE_ERRNO(epoll_ctl(epfd, op, fd, p));
}

static jint lib_epoll_wait(JNIEnv *env, jobject self, jint epfd, jobject events, jint max, jint timeout_ms) {
    (void) self;
    void *p = direct_structs(env, events, max, sizeof(struct epoll_event));
    NEED_DIRECT(p);
    return SAVE_ERRNO(raw_epoll_wait(epfd, p, max, timeout_ms));
}

/* ---- sockets ---------------------------------------------------------------------------- */

static jint lib_socket(JNIEnv *env, jobject self, jint domain, jint type, jint protocol) {
    (void) env; (void) self;
    return SAVE_ERRNO(socket(domain, type, protocol));
}

static jint lib_bind(JNIEnv *env, jobject self, jint fd, jobject addr, jint addr_len) {
    (void) self;
    void *p = direct_region(env, addr, 0, addr_len);
    NEED_DIRECT(p);
    return SAVE_ERRNO(bind(fd, p, (socklen_t) addr_len));
}

static jint lib_listen(JNIEnv *env, jobject self, jint fd, jint backlog) {
    (void) env; (void) self;
    return SAVE_ERRNO(listen(fd, backlog));
}

/* No address wanted (addr null): the kernel reads no length either. Else the length in addr_len must
 * fit addr (rule 5); the kernel reads a copy and writes the address's real length back into it. */
static jint lib_accept4(JNIEnv *env, jobject self, jint fd, jobject addr, jobject addr_len, jint flags) {
    (void) self;
    if (addr == NULL) {
        return SAVE_ERRNO(accept4(fd, NULL, NULL, flags));
    }
    socklen_t *l = direct_struct(env, addr_len, sizeof(socklen_t));
    NEED_DIRECT(l);
    socklen_t length = *l;
    void *a = direct_region(env, addr, 0, length);
    NEED_DIRECT(a);
    int r = SAVE_ERRNO(accept4(fd, a, &length, flags));
    *l = length;
    return r;
}

static jint lib_connect(JNIEnv *env, jobject self, jint fd, jobject addr, jint addr_len) {
    (void) self;
    void *p = direct_region(env, addr, 0, addr_len);
    NEED_DIRECT(p);
    return SAVE_ERRNO(connect(fd, p, (socklen_t) addr_len));
}

/* The value's length, in length, must fit value (rule 5); the kernel reads a copy and writes the
 * value's real length back into it. */
static jint lib_getsockopt(JNIEnv *env, jobject self, jint fd, jint level, jint name, jobject value,
                           jobject length) {
    (void) self;
    socklen_t *l = direct_struct(env, length, sizeof(socklen_t));
    NEED_DIRECT(l);
    socklen_t value_length = *l;
    void *v = direct_region(env, value, 0, value_length);
    NEED_DIRECT(v);
    int r = SAVE_ERRNO(getsockopt(fd, level, name, v, &value_length));
    *l = value_length;
    return r;
}

/* ---- terminals and PTYs ----------------------------------------------------------------- */

static jint lib_isatty(JNIEnv *env, jobject self, jint fd) {
    (void) env; (void) self;
    return SAVE_ERRNO(isatty(fd));
}

static jint lib_tcgetattr(JNIEnv *env, jobject self, jint fd, jobject termios) {
    (void) self;
    void *p = direct_struct(env, termios, sizeof(struct termios));
    NEED_DIRECT(p);
    return SAVE_ERRNO(tcgetattr(fd, p));
}

static void lib_cfmakeraw(JNIEnv *env, jobject self, jobject termios) {
    (void) self;
    void *p = direct_struct(env, termios, sizeof(struct termios));
    if (p != NULL) {
        cfmakeraw(p);
    }
}

static jint lib_tcsetattr(JNIEnv *env, jobject self, jint fd, jint actions, jobject termios) {
    (void) self;
    void *p = direct_struct(env, termios, sizeof(struct termios));
    NEED_DIRECT(p);
    return SAVE_ERRNO(tcsetattr(fd, actions, p));
}

static jint lib_posix_openpt(JNIEnv *env, jobject self, jint flags) {
    (void) env; (void) self;
    return SAVE_ERRNO(posix_openpt(flags));
}

static jint lib_grantpt(JNIEnv *env, jobject self, jint fd) {
    (void) env; (void) self;
    return SAVE_ERRNO(grantpt(fd));
}

static jint lib_unlockpt(JNIEnv *env, jobject self, jint fd) {
    (void) env; (void) self;
    return SAVE_ERRNO(unlockpt(fd));
}

static jint lib_ptsname_r(JNIEnv *env, jobject self, jint fd, jbyteArray buf, jlong length) {
    (void) self;
    if (length < 1 || outside(env, buf, 0, length)) {
        saved_errno = EFAULT;
        return -1;
    }
    char on_stack[STACK_COPY_BYTES];
    char *name = copy_buffer(on_stack, length);
    if (name == NULL) {
        saved_errno = ENOMEM;
        return -1;
    }
    int r = ptsname_r(fd, name, (size_t) length); /* returns the error number */
    saved_errno = r;
    if (r == 0) {
        (*env)->SetByteArrayRegion(env, buf, 0, (jsize) (strnlen(name, (size_t) length - 1) + 1),
                                   (const jbyte *) name);
    }
    free_copy(name, on_stack);
    return r;
}

static jint lib_ioctl_winsize(JNIEnv *env, jobject self, jint fd, jlong request, jshortArray winsize) {
    (void) self;
    if (outside(env, winsize, 0, 4)) {
        saved_errno = EFAULT;
        return -1;
    }
    jshort copy[4];
    (*env)->GetShortArrayRegion(env, winsize, 0, 4, copy);
    int r = SAVE_ERRNO(ioctl(fd, (unsigned long) request, copy));
    (*env)->SetShortArrayRegion(env, winsize, 0, 4, copy);
    return r;
}

static jint lib_ioctl_int(JNIEnv *env, jobject self, jint fd, jlong request, jintArray value) {
    (void) self;
    if (outside(env, value, 0, 1)) {
        saved_errno = EFAULT;
        return -1;
    }
    jint copy;
    (*env)->GetIntArrayRegion(env, value, 0, 1, &copy);
    int r = SAVE_ERRNO(ioctl(fd, (unsigned long) request, &copy));
    (*env)->SetIntArrayRegion(env, value, 0, 1, &copy);
    return r;
}

/* ---- processes, signals and exit status ------------------------------------------------- */

static jint lib_waitpid(JNIEnv *env, jobject self, jint pid, jintArray status, jint options) {
    (void) self;
    if (status != NULL && outside(env, status, 0, 1)) {
        saved_errno = EFAULT;
        return -1;
    }
    int value = 0;
    int r = SAVE_ERRNO(waitpid(pid, status == NULL ? NULL : &value, options));
    if (status != NULL) {
        (*env)->SetIntArrayRegion(env, status, 0, 1, &value);
    }
    return r;
}

static jint lib_kill(JNIEnv *env, jobject self, jint pid, jint sig) {
    (void) env; (void) self;
    return SAVE_ERRNO(kill(pid, sig));
}

/* Where on_stop_signal writes: set before the first sigaction that installs it, never changed after. */
static volatile int stop_signal_fd = -1;

/* A signal handler, so async-signal-safe: one byte, the signal's number, to the pipe a thread of the
 * agent reads (StopSignals). A full pipe drops the byte: the ones already in it stop the agent. */
static void on_stop_signal(int sig) {
    int kept = errno;
    unsigned char number = (unsigned char) sig;
    (void) !raw_write(stop_signal_fd, &number, 1);
    errno = kept;
}

/* Rule 1's other exception: sigaction with this library's handler, on_stop_signal, which writes to
 * fd (the same fd for every signal so installed). The JVM's own handling (sun.misc.Signal) starts a
 * thread for each signal and drops the signal when the kernel refuses that thread. A signal the agent
 * was started with ignored (nohup's SIGHUP, a script's `agentd &` SIGINT) stays ignored, as the JVM
 * leaves it: 1, nothing installed. */
static jint lib_sigaction_to_pipe(JNIEnv *env, jobject self, jint sig, jint fd) {
    (void) env; (void) self;
    if (stop_signal_fd != -1 && stop_signal_fd != fd) {
        saved_errno = EBUSY;
        return -1;
    }
    struct sigaction current;
    if (sigaction(sig, NULL, &current) != 0) {
        saved_errno = errno;
        return -1;
    }
    if (current.sa_handler == SIG_IGN) {
        return 1;
    }
    stop_signal_fd = fd;
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = on_stop_signal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    return SAVE_ERRNO(sigaction(sig, &action, NULL));
}

static jint lib_prctl(JNIEnv *env, jobject self, jint option, jlong a2, jlong a3, jlong a4, jlong a5) {
    (void) env; (void) self;
    return SAVE_ERRNO(prctl(option, (unsigned long) a2, (unsigned long) a3, (unsigned long) a4,
                            (unsigned long) a5));
}

/* ---- credentials and file ownership ----------------------------------------------------- */

static jint lib_getuid(JNIEnv *env, jobject self) {
    (void) env; (void) self;
    return (jint) getuid();
}

static jint lib_getgid(JNIEnv *env, jobject self) {
    (void) env; (void) self;
    return (jint) getgid();
}

static jint lib_getgroups(JNIEnv *env, jobject self, jint size, jintArray list) {
    (void) self;
    if (size < 0 || outside(env, list, 0, size)) {
        saved_errno = EFAULT;
        return -1;
    }
    gid_t *copy = size == 0 ? NULL : malloc(sizeof(gid_t) * (size_t) size);
    if (size > 0 && copy == NULL) {
        saved_errno = ENOMEM;
        return -1;
    }
    int n = SAVE_ERRNO(getgroups(size, copy));
    if (n > 0 && size > 0) {
        (*env)->SetIntArrayRegion(env, list, 0, n, (const jint *) copy);
    }
    free(copy);
    return n;
}

static jint lib_fchown(JNIEnv *env, jobject self, jint fd, jint owner, jint group) {
    (void) env; (void) self;
    return SAVE_ERRNO(fchown(fd, (uid_t) owner, (gid_t) group));
}

static jint lib_fchmod(JNIEnv *env, jobject self, jint fd, jint mode) {
    (void) env; (void) self;
    return SAVE_ERRNO(fchmod(fd, (mode_t) mode));
}

static jint lib_ftruncate(JNIEnv *env, jobject self, jint fd, jlong length) {
    (void) env; (void) self;
    return SAVE_ERRNO(ftruncate(fd, (off_t) length));
}

static jlong lib_lseek(JNIEnv *env, jobject self, jint fd, jlong offset, jint whence) {
    (void) env; (void) self;
    return SAVE_ERRNO(lseek(fd, (off_t) offset, whence));
}

/* ---- file times and modes by path ------------------------------------------------------- */

static jint lib_utimensat(JNIEnv *env, jobject self, jint dir_fd, jbyteArray path, jlongArray times,
                          jint flags) {
    (void) self;
    if (times != NULL && outside(env, times, 0, 4)) {
        saved_errno = EFAULT;
        return -1;
    }
    char on_stack[STACK_COPY_BYTES];
    char *copy = path_copy(env, path, on_stack);
    if (copy == NULL) {
        return -1;
    }
    struct timespec ts[2];
    if (times != NULL) {
        jlong values[4];
        (*env)->GetLongArrayRegion(env, times, 0, 4, values);
        ts[0].tv_sec = values[0];
        ts[0].tv_nsec = values[1];
        ts[1].tv_sec = values[2];
        ts[1].tv_nsec = values[3];
    }
    int r = SAVE_ERRNO(utimensat(dir_fd, copy, times == NULL ? NULL : ts, flags));
    free_copy(copy, on_stack);
    return r;
}

static jint lib_fchmodat(JNIEnv *env, jobject self, jint dir_fd, jbyteArray path, jint mode, jint flags) {
    (void) self;
    char on_stack[STACK_COPY_BYTES];
    char *copy = path_copy(env, path, on_stack);
    if (copy == NULL) {
        return -1;
    }
    int r = SAVE_ERRNO(fchmodat(dir_fd, copy, (mode_t) mode, flags));
    free_copy(copy, on_stack);
    return r;
}

/* ---- files relative to a directory descriptor ------------------------------------------ */

static jint lib_openat(JNIEnv *env, jobject self, jint dir_fd, jbyteArray path, jint flags, jint mode) {
    (void) self;
    char on_stack[STACK_COPY_BYTES];
    char *copy = path_copy(env, path, on_stack);
    if (copy == NULL) {
        return -1;
    }
    int fd = SAVE_ERRNO(openat(dir_fd, copy, flags, (mode_t) mode));
    free_copy(copy, on_stack);
    return fd;
}

static jint lib_mkdirat(JNIEnv *env, jobject self, jint dir_fd, jbyteArray path, jint mode) {
    (void) self;
    char on_stack[STACK_COPY_BYTES];
    char *copy = path_copy(env, path, on_stack);
    if (copy == NULL) {
        return -1;
    }
    int r = SAVE_ERRNO(mkdirat(dir_fd, copy, (mode_t) mode));
    free_copy(copy, on_stack);
    return r;
}

static jint lib_renameat(JNIEnv *env, jobject self, jint old_dir_fd, jbyteArray old_path, jint new_dir_fd,
                         jbyteArray new_path) {
    (void) self;
    char old_on_stack[STACK_COPY_BYTES];
    char new_on_stack[STACK_COPY_BYTES];
    char *old_copy = path_copy(env, old_path, old_on_stack);
    if (old_copy == NULL) {
        return -1;
    }
    char *new_copy = path_copy(env, new_path, new_on_stack);
    if (new_copy == NULL) {
        free_copy(old_copy, old_on_stack);
        return -1;
    }
    int r = SAVE_ERRNO(renameat(old_dir_fd, old_copy, new_dir_fd, new_copy));
    free_copy(new_copy, new_on_stack);
    free_copy(old_copy, old_on_stack);
    return r;
}

/* ---- clocks ----------------------------------------------------------------------------- */

static jint lib_clock_gettime(JNIEnv *env, jobject self, jint clock, jobject timespec) {
    (void) self;
    void *p = direct_struct(env, timespec, sizeof(struct timespec));
    NEED_DIRECT(p);
    return SAVE_ERRNO(clock_gettime(clock, p));
}

static jint lib_clock_settime(JNIEnv *env, jobject self, jint clock, jobject timespec) {
    (void) self;
    void *p = direct_struct(env, timespec, sizeof(struct timespec));
    NEED_DIRECT(p);
    return SAVE_ERRNO(clock_settime(clock, p));
}

/* ---- raw system calls ------------------------------------------------------------------- */

static jlong lib_syscall1(JNIEnv *env, jobject self, jlong number, jlong a1) {
    (void) env; (void) self;
    return SAVE_ERRNO(syscall(number, a1));
}

static jlong lib_syscall2(JNIEnv *env, jobject self, jlong number, jlong a1, jlong a2) {
    (void) env; (void) self;
    return SAVE_ERRNO(syscall(number, a1, a2));
}

static jlong lib_syscall4(JNIEnv *env, jobject self, jlong number, jlong a1, jlong a2, jlong a3, jlong a4) {
    (void) env; (void) self;
    return SAVE_ERRNO(syscall(number, a1, a2, a3, a4));
}

/* syscall(number, size, list) with an int list copied in: setgroups for the calling thread only. */
static jlong lib_syscall_ints(JNIEnv *env, jobject self, jlong number, jlong size, jintArray list) {
    (void) self;
    if (size < 0 || outside(env, list, 0, size)) {
        saved_errno = EFAULT;
        return -1;
    }
    jint *copy = size == 0 ? NULL : malloc(sizeof(jint) * (size_t) size);
    if (size > 0 && copy == NULL) {
        saved_errno = ENOMEM;
        return -1;
    }
    if (size > 0) {
        (*env)->GetIntArrayRegion(env, list, 0, (jsize) size, copy);
    }
    long r = SAVE_ERRNO(syscall(number, size, copy));
    free(copy);
    return r;
}

/* ---- the spawn (agentd-shim.c) ---------------------------------------------------------- */

static jint shim_spawn(JNIEnv *env, jclass cls, jobject spec, jobject result) {
    (void) cls;
    void *s = direct_struct(env, spec, sizeof(struct agentd_spawn_spec));
    void *r = direct_struct(env, result, sizeof(struct agentd_spawn_result));
    if (s == NULL || r == NULL) {
        saved_errno = EFAULT; /* rules 4 and 5: the result is not written (the Java side passes direct
                                 buffers of the sizes specSize and resultSize give) */
        return -1;
    }
    return agentd_spawn(s, r);
}

static jlong shim_spec_size(JNIEnv *env, jclass cls) {
    (void) env; (void) cls;
    return agentd_spawn_spec_size();
}

static jlong shim_result_size(JNIEnv *env, jclass cls) {
    (void) env; (void) cls;
    return agentd_spawn_result_size();
}

/* The file this code was loaded from: ShimLibrary checks that it is the library it was given. */
static jstring lib_loaded_from(JNIEnv *env, jclass cls) {
    (void) cls;
    Dl_info info;
    if (dladdr((void *) lib_loaded_from, &info) == 0 || info.dli_fname == NULL) {
        return NULL;
    }
    return (*env)->NewStringUTF(env, info.dli_fname);
}

/* ---- registration ----------------------------------------------------------------------- */

#define BUF "Ljava/nio/ByteBuffer;"
#define METHOD(name, signature, fn) { (char *) (name), (char *) (signature), (void *) (fn) }

static jint lib_methods_registered(JNIEnv *env, jclass cls);

static const JNINativeMethod libc_methods[] = {
    METHOD("lastErrno", "()I", lib_last_errno),
    METHOD("loadedFrom", "()Ljava/lang/String;", lib_loaded_from),
    METHOD("methodsRegistered", "()I", lib_methods_registered),
    METHOD("openFlag", "(I)I", lib_open_flag),
    METHOD("address", "(" BUF ")J", lib_address),
    METHOD("errnoName", "(I)Ljava/lang/String;", lib_errno_name),
    METHOD("errnoDescription", "(I)Ljava/lang/String;", lib_errno_description),
    METHOD("open", "([BII)I", lib_open),
    METHOD("close", "(I)I", lib_close),
    METHOD("readArray", "(I[BIJ)J", lib_read_array),
    METHOD("readDirect", "(I" BUF "IJ)J", lib_read_direct),
    METHOD("writeArray", "(I[BIJ)J", lib_write_array),
    METHOD("writeDirect", "(I" BUF "IJ)J", lib_write_direct),
    METHOD("pipe2", "([II)I", lib_pipe2),
    METHOD("dup3", "(III)I", lib_dup3),
    METHOD("splice", "(IIJI)J", lib_splice),
    METHOD("fcntl", "(III)I", lib_fcntl),
    METHOD("eventfd", "(II)I", lib_eventfd),
    METHOD("poll", "(" BUF "JI)I", lib_poll),
    METHOD("epoll_create1", "(I)I", lib_epoll_create1),
    METHOD("epoll_ctl", "(III" BUF ")I", lib_epoll_ctl),
    METHOD("epoll_wait", "(I" BUF "II)I", lib_epoll_wait),
    METHOD("socket", "(III)I", lib_socket),
    METHOD("bind", "(I" BUF "I)I", lib_bind),
    METHOD("listen", "(II)I", lib_listen),
    METHOD("accept4", "(I" BUF BUF "I)I", lib_accept4),
    METHOD("connect", "(I" BUF "I)I", lib_connect),
    METHOD("getsockopt", "(III" BUF BUF ")I", lib_getsockopt),
    METHOD("isatty", "(I)I", lib_isatty),
    METHOD("tcgetattr", "(I" BUF ")I", lib_tcgetattr),
    METHOD("cfmakeraw", "(" BUF ")V", lib_cfmakeraw),
    METHOD("tcsetattr", "(II" BUF ")I", lib_tcsetattr),
    METHOD("posix_openpt", "(I)I", lib_posix_openpt),
    METHOD("grantpt", "(I)I", lib_grantpt),
    METHOD("unlockpt", "(I)I", lib_unlockpt),
    METHOD("ptsname_r", "(I[BJ)I", lib_ptsname_r),
    METHOD("ioctl", "(IJ[S)I", lib_ioctl_winsize),
    METHOD("ioctl", "(IJ[I)I", lib_ioctl_int),
    METHOD("waitpid", "(I[II)I", lib_waitpid),
    METHOD("kill", "(II)I", lib_kill),
    METHOD("sigactionToPipe", "(II)I", lib_sigaction_to_pipe),
    METHOD("prctl", "(IJJJJ)I", lib_prctl),
    METHOD("getuid", "()I", lib_getuid),
    METHOD("getgid", "()I", lib_getgid),
    METHOD("getgroups", "(I[I)I", lib_getgroups),
    METHOD("fchown", "(III)I", lib_fchown),
    METHOD("fchmod", "(II)I", lib_fchmod),
    METHOD("ftruncate", "(IJ)I", lib_ftruncate),
    METHOD("lseek", "(IJI)J", lib_lseek),
    METHOD("utimensat", "(I[B[JI)I", lib_utimensat),
    METHOD("fchmodat", "(I[BII)I", lib_fchmodat),
    METHOD("openat", "(I[BII)I", lib_openat),
    METHOD("mkdirat", "(I[BI)I", lib_mkdirat),
    METHOD("renameat", "(I[BI[B)I", lib_renameat),
    METHOD("clock_gettime", "(I" BUF ")I", lib_clock_gettime),
    METHOD("clock_settime", "(I" BUF ")I", lib_clock_settime),
    METHOD("syscall", "(JJ)J", lib_syscall1),
    METHOD("syscall", "(JJJ)J", lib_syscall2),
    METHOD("syscall", "(JJJJJ)J", lib_syscall4),
    METHOD("syscall", "(JJ[I)J", lib_syscall_ints),
};

static jint lib_methods_registered(JNIEnv *env, jclass cls) {
    (void) env; (void) cls;
    return sizeof(libc_methods) / sizeof(libc_methods[0]);
}

static const JNINativeMethod shim_methods[] = {
    METHOD("spawn", "(" BUF BUF ")I", shim_spawn),
    METHOD("specSize", "()J", shim_spec_size),
    METHOD("resultSize", "()J", shim_result_size),
};

static int register_methods(JNIEnv *env, const char *class_name, const JNINativeMethod *methods, jint count) {
    jclass cls = (*env)->FindClass(env, class_name);
    if (cls == NULL) {
        return -1; /* NoClassDefFoundError pending: System.load throws it */
    }
    return (*env)->RegisterNatives(env, cls, methods, count) == 0 ? 0 : -1;
}

JNIEXPORT jint JNI_OnLoad(JavaVM *vm, void *reserved) {
    (void) reserved;
    JNIEnv *env;
    if ((*vm)->GetEnv(vm, (void **) &env, JNI_VERSION_1_8) != JNI_OK) {
        return JNI_ERR;
    }
    if (register_methods(env, "io/agentd/agent/sys/LibC", libc_methods,
                         sizeof(libc_methods) / sizeof(libc_methods[0])) != 0
        || register_methods(env, "io/agentd/agent/spawn/NativeShim", shim_methods,
                            sizeof(shim_methods) / sizeof(shim_methods[0])) != 0) {
        return JNI_ERR;
    }
    return JNI_VERSION_1_8;
}
