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

/* The first i from i to limit where (s[i] | 0x20) == 'h' (an "h" or "H"), or limit + 1. It
 * tests a 64-bit word of characters at a time: a lane of (word | 0x20...) ^ 'h'... is zero
 * where one is, and (x - 1...) & ~x & 0x80... is non-zero iff a lane of x is zero. */
static inline Py_ssize_t
FN(next_h)(const CHAR *s, Py_ssize_t i, Py_ssize_t limit)
{
    const Py_ssize_t lanes = 8 / sizeof(CHAR);
    const uint64_t ones = ~(uint64_t)0 / (uint64_t)(CHAR)~(CHAR)0, highs = ones << (8 * sizeof(CHAR) - 1);
    for (; i + lanes - 1 <= limit; i += lanes) {
        uint64_t word;
        memcpy(&word, s + i, sizeof(word));
        word = (word | ones * 0x20) ^ (ones * 'h');
        if ((word - ones) & ~word & highs)
            break;
    }
    for (; i <= limit; i++)
        if ((s[i] | 0x20) == 'h')
            return i;
    return i;
}

/* The first URL at or after i: 1 and its [*start, *end), or 0 if there is none. */
static int
FN(next_url)(const CHAR *s, Py_ssize_t n, Py_ssize_t i, Py_ssize_t *start, Py_ssize_t *end)
{
    for (Py_ssize_t limit = n - 7; (i = FN(next_h)(s, i, limit)) <= limit; i++) { /* "http://" is the shortest */
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

/* Where the attribute name (one of names) whose "=" is at, after whitespace, starts; -1 if
 * none ends there or it would start before pos. */
static Py_ssize_t
FN(name_before)(const CHAR *s, Py_ssize_t at, Py_ssize_t pos, const char *const *names, const Py_ssize_t *lengths,
                Py_ssize_t count, Py_ssize_t *length)
{
    Py_ssize_t q = at; /* one past the name's last character */
    while (q > pos && is_space(s[q - 1]))
        q--;
    for (Py_ssize_t k = 0; k < count; k++) {
        Py_ssize_t start = q - lengths[k], j = 0;
        if (start < pos || lengths[k] == 0)
            continue;
        while (j < lengths[k] && s[start + j] == (unsigned char)names[k][j])
            j++;
        if (j == lengths[k]) {
            *length = lengths[k];
            return start;
        }
    }
    return -1;
}

/* Whether ".onion" (ASCII, any case) at i, a dot, ends a host name: not followed by [A-Za-z0-9-]. */
static inline int
FN(onion_at)(const CHAR *s, Py_ssize_t n, Py_ssize_t i)
{
    return i + 6 <= n && (s[i + 1] | 0x20) == 'o' && (s[i + 2] | 0x20) == 'n' && (s[i + 3] | 0x20) == 'i' &&
           (s[i + 4] | 0x20) == 'o' && (s[i + 5] | 0x20) == 'n' && !(i + 6 < n && is_label_char(s[i + 6]));
}

/* Whether url has the common shape (crawler.url.scan.COMMON_URL_RE, fullmatch): 1 and the
 * ends of its parts in *parts (scheme end, netloc start and end, path start and end, query
 * start and end; -1 for a part that is absent), or 0. */
static int
FN(common_url)(const CHAR *s, Py_ssize_t n, Py_ssize_t *parts)
{
    Py_ssize_t i;
    if (n < 8 || s[0] != 'h' || s[1] != 't' || s[2] != 't' || s[3] != 'p')
        return 0;
    i = s[4] == 's' ? 5 : 4;
    if (i + 3 > n || s[i] != ':' || s[i + 1] != '/' || s[i + 2] != '/')
        return 0;
    parts[0] = i;
    i += 3;
    parts[1] = i;
    while (i < n && is_host_char(s[i]))
        i++;
    if (i == parts[1])
        return 0;
    if (i < n && s[i] == ':') {
        Py_ssize_t digits = ++i;
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++;
        if (i == digits || i - digits > 5)
            return 0;
    }
    parts[2] = i;
    parts[3] = parts[4] = parts[5] = parts[6] = -1;
    if (i < n && s[i] == '/') {
        parts[3] = i++;
        while (i < n && is_plain_path_char(s[i]))
            i++;
        parts[4] = i;
    }
    if (i < n && s[i] == '?') {
        parts[5] = ++i;
        while (i < n && is_plain_query_char(s[i]))
            i++;
        parts[6] = i;
    }
    return i == n || s[i] == '#'; /* a fragment may hold anything */
}
