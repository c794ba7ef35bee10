#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <sodium.h>

#include "cli/pass.h"
#include "common/err.h"

void cove_pass_free(char *p)
{
	if (p)
		sodium_free(p);
}

/* Reads one line from fd into buf (cap bytes including the NUL), one byte
 * at a time so nothing past the line is consumed. */
static int read_line(int fd, char *buf, size_t cap, size_t *len)
{
	size_t n = 0;

	for (;;) {
		char c;
		ssize_t r = read(fd, &c, 1);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return COVE_ERR_IO;
		if (r == 0 || c == '\n')
			break;
		if (n + 1 >= cap)
			return COVE_ERR_LIMIT;
		buf[n++] = c;
	}
	if (n > 0 && buf[n - 1] == '\r')
		n--;
	buf[n] = '\0';
	*len = n;
	return COVE_OK;
}

int cove_pass_from_file(const char *path, char **out, size_t *len)
{
	char *buf;
	int fd, ret, e;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return COVE_ERR_IO;
	buf = sodium_malloc(COVE_PASS_MAX + 1);
	if (!buf) {
		close(fd);
		return COVE_ERR_NOMEM;
	}
	ret = read_line(fd, buf, COVE_PASS_MAX + 1, len);
	e = errno;
	close(fd);
	if (ret != COVE_OK) {
		sodium_free(buf);
		errno = e;
		return ret;
	}
	*out = buf;
	return COVE_OK;
}

static int tty_fd = -1;
static struct termios tty_saved;

static void restore_tty(void)
{
	if (tty_fd >= 0)
		tcsetattr(tty_fd, TCSAFLUSH, &tty_saved);
}

static void on_signal(int sig)
{
	restore_tty();
	signal(sig, SIG_DFL);
	raise(sig);
}

static int prompt_once(int fd, const char *prompt, char *buf, size_t *len)
{
	struct termios t;
	struct sigaction sa, old_int, old_term;
	int ret;

	if (write(fd, prompt, strlen(prompt)) < 0)
		return COVE_ERR_IO;
	if (tcgetattr(fd, &tty_saved) != 0)
		return COVE_ERR_IO;
	t = tty_saved;
	t.c_lflag &= ~(tcflag_t)ECHO;
	t.c_lflag |= ECHONL;
	tty_fd = fd;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	if (tcsetattr(fd, TCSAFLUSH, &t) != 0) {
		ret = COVE_ERR_IO;
	} else {
		ret = read_line(fd, buf, COVE_PASS_MAX + 1, len);
		restore_tty();
	}
	tty_fd = -1;
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	return ret;
}

int cove_pass_prompt(const char *prompt, int confirm, char **out, size_t *len)
{
	char *buf;
	size_t n2 = 0;
	int fd, ret;

	fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return COVE_ERR_IO;
	buf = sodium_malloc(2 * (COVE_PASS_MAX + 1));
	if (!buf) {
		close(fd);
		return COVE_ERR_NOMEM;
	}
	ret = prompt_once(fd, prompt, buf, len);
	if (ret == COVE_OK && confirm) {
		char *again = buf + COVE_PASS_MAX + 1;

		ret = prompt_once(fd, "Repeat it: ", again, &n2);
		if (ret == COVE_OK && (n2 != *len || sodium_memcmp(buf, again, n2) != 0))
			ret = COVE_ERR_PASSPHRASE;
		sodium_memzero(again, COVE_PASS_MAX + 1);
	}
	close(fd);
	if (ret != COVE_OK) {
		sodium_free(buf);
		return ret;
	}
	*out = buf;
	return COVE_OK;
}
