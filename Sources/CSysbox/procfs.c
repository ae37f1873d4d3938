// What both the Swift CLI and the C front read the same way: /proc/PID/cgroup and container names.
// One implementation each, so the fast path and the Swift path can never disagree.
#include <string.h>

#include "CSysbox.h"

/* Whether two comma-separated controller lists name the same set ("cpu,cpuacct" == "cpuacct,cpu"). */
static int same_controllers(const char *a, size_t alen, const char *b) {
    size_t blen = strlen(b);
    int count_a = 0, count_b = 0;
    for (size_t i = 0; i <= alen; i++) if (i == alen || a[i] == ',') count_a++;
    for (size_t i = 0; i <= blen; i++) if (i == blen || b[i] == ',') count_b++;
    if (count_a != count_b) return 0;
    // Every name of a is in b (the kernel never repeats a controller in one list).
    for (size_t start = 0; start <= alen;) {
        size_t end = start;
        while (end < alen && a[end] != ',') end++;
        size_t len = end - start;
        int found = 0;
        for (size_t s = 0; s <= blen && !found;) {
            size_t e = s;
            while (e < blen && b[e] != ',') e++;
            if (e - s == len && strncmp(a + start, b + s, len) == 0) found = 1;
            s = e + 1;
        }
        if (!found) return 0;
        start = end + 1;
    }
    return 1;
}

int sysbox_proc_cgroup_match(char *text, const char *const *controllers, int count, int *which, const char **rel, int max) {
    int n = 0;
    char *line = text;
    while (line && *line && n < max) {
        char *next = strchr(line, '\n');
        if (next) *next++ = 0;
        char *c1 = strchr(line, ':');
        char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (c2 && c2[1] == '/' && !strstr(c2 + 1, "..")) {
            const char *list = c1 + 1;
            size_t len = (size_t)(c2 - list);
            for (int i = 0; i < count; i++) {
                int v2 = strcmp(controllers[i], "-") == 0;
                if (v2 ? len == 0 : (len > 0 && same_controllers(list, len, controllers[i]))) {
                    which[n] = i;
                    rel[n] = c2 + 1;
                    n++;
                    break;
                }
            }
        }
        line = next;
    }
    return n;
}

int sysbox_valid_container_name(const char *s) {
    size_t n = strlen(s);
    if (n == 0 || n > 63 || s[0] == '-' || s[n - 1] == '-') return 0;
    int digits = 1;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        int digit = c >= '0' && c <= '9';
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || digit || c == '-')) return 0;
        if (!digit) digits = 0;
    }
    return !digits;
}
