/* The scanner's loops for one width of str (CPython keeps a str as 1, 2 or 4 bytes a
 * character): _cscan.c includes this file three times, with CHAR the character type and
 * FN(name) the name suffixed with that width, as CPython's stringlib does, so that every
 * loop reads a plain array. */

/* The length of "https:" or "http:" (any ASCII case) at i, or 0. */
static inline Py_ssize_t
FN(scheme_at)(const CHAR *s, Py_ssize_t n, Py_ssize_t i)
{
    if (i + 5 > n || lower_ascii(s[i]) != 'h' || lower_ascii(s[i + 1]) != 't' || lower_ascii(s[i + 2]) != 't' ||
        lower_ascii(s[i + 3]) != 'p')
        return 0;
    Py_ssize_t j = i + 4;
    if (lower_ascii(s[j]) == 's')
        j++;
    if (j >= n || s[j] != ':')
        return 0;
    return j + 1 - i;
}

/* The length of a slash at i: "/", "\/", "\u002f" or "\u002F"; or 0. */
static inline Py_ssize_t
FN(slash_at)(const CHAR *s, Py_ssize_t n, Py_ssize_t i)
{
    if (i >= n)
        return 0;
    if (s[i] == '/')
        return 1;
    if (s[i] != '\\' || i + 1 >= n)
        return 0;
    if (s[i + 1] == '/')
        return 2;
    if (s[i + 1] == 'u' && i + 5 < n && s[i + 2] == '0' && s[i + 3] == '0' && s[i + 4] == '2' &&
        lower_ascii(s[i + 5]) == 'f')
        return 6;
    return 0;
}

/* The length of an escape a URL holds at i (a backslash): "\/" or "\u00XX"; or 0. */
static inline Py_ssize_t
FN(escape_at)(const CHAR *s, Py_ssize_t n, Py_ssize_t i)
{
    if (i + 1 >= n)
        return 0;
    if (s[i + 1] == '/')
        return 2;
    if (s[i + 1] == 'u' && i + 5 < n && s[i + 2] == '0' && s[i + 3] == '0' && is_hex(s[i + 4]) && is_hex(s[i + 5]))
        return 6;
    return 0;
}

/* Where the URL that starts at i ends, or -1 if none starts there (URL_RE.match). */
static Py_ssize_t
FN(match_url)(const CHAR *s, Py_ssize_t n, Py_ssize_t i)
{
    Py_ssize_t j, k;
    if (!(k = FN(scheme_at)(s, n, i)))
        return -1;
    j = i + k;
    if (!(k = FN(slash_at)(s, n, j)))
        return -1;
    j += k;
    if (!(k = FN(slash_at)(s, n, j)))
        return -1;
    j += k;
    if (j < n && s[j] == '[') { /* an IPv6 literal, if its bracket closes */
        Py_ssize_t m = j + 1;
        while (m < n && is_ipv6_char(s[m]))
            m++;
        if (m < n && s[m] == ']')
            j = m + 1;
    }
    while (j < n) {
        if (is_url_char(s[j]))
            j++;
        else if (s[j] == '\\' && (k = FN(escape_at)(s, n, j)))
            j += k;
        else
            break;
    }
    return j;
}

/* The first URL at or after i: 1 and its [*start, *end), or 0 if there is none. */
static int
FN(next_url)(const CHAR *s, Py_ssize_t n, Py_ssize_t i, Py_ssize_t *start, Py_ssize_t *end)
{
    for (Py_ssize_t limit = n - 7; i <= limit; i++) { /* "http://" is the shortest URL */
        if ((s[i] | 0x20) != 'h')
            continue;
        Py_ssize_t found = FN(match_url)(s, n, i);
        if (found >= 0) {
            *start = i;
            *end = found;
            return 1;
        }
    }
    return 0;
}

/* Reads an attribute's value after its name, at p, as _ATTR_VALUE_RE.match does:
 * 0 if it does not match; 1 if it matches with an absolute value (not captured); 2 if it
 * matches with a relative value [*start, *stop). *end is where the match ends. */
static int
FN(read_value)(const CHAR *s, Py_ssize_t n, Py_ssize_t p, Py_ssize_t *start, Py_ssize_t *stop, Py_ssize_t *end)
{
    Py_ssize_t j = p;
    while (j < n && is_space(s[j]))
        j++;
    if (j >= n || s[j] != '=')
        return 0;
    j++;
    while (j < n && is_space(s[j]))
        j++;
    if (j >= n)
        return 0;
    if (s[j] == '"' || s[j] == '\'') {
        Py_ssize_t close = j + 1;
        while (close < n && s[close] != s[j])
            close++;
        if (close >= n) /* no closing quote: neither a quoted nor an unquoted value */
            return 0;
        *end = close + 1;
        if (FN(scheme_at)(s, n, j + 1))
            return 1;
        *start = j + 1;
        *stop = close;
        return 2;
    }
    Py_ssize_t k = FN(scheme_at)(s, n, j), m = j + k;
    while (m < n && s[m] != '"' && s[m] != '\'' && s[m] != '>' && !is_space(s[m]))
        m++;
    if (k) {
        *end = m;
        return 1;
    }
    if (m == j)
        return 0;
    *start = j;
    *stop = *end = m;
    return 2;
}

/* Where the next ".onion" (ASCII, any case) not followed by [A-Za-z0-9-] starts, at or
 * after i; or -1. */
static Py_ssize_t
FN(next_onion)(const CHAR *s, Py_ssize_t n, Py_ssize_t i)
{
    for (Py_ssize_t limit = n - 6; i <= limit; i++) {
        if (s[i] != '.' || (s[i + 1] | 0x20) != 'o' || (s[i + 2] | 0x20) != 'n' || (s[i + 3] | 0x20) != 'i' ||
            (s[i + 4] | 0x20) != 'o' || (s[i + 5] | 0x20) != 'n')
            continue;
        if (i + 6 < n && is_label_char(s[i + 6]))
            continue;
        return i;
    }
    return -1;
}
