/* The text scanner of crawler.url.scan, in C: the same three functions as its pure-Python
 * definitions, found by the same rules, one pass each (tests/test_scan.py holds both to
 * crawler.url.scan.URL_RE and to each other). Optional: without a C compiler the package
 * installs without it and crawler.url.scan uses the Python versions.
 *
 *   split_urls(text)             -> [text, url, text, ..., text]
 *   substitute_urls(text, memo, rewrite) -> text with each URL replaced by memo[url] or rewrite(url)
 *   splice(text, edits)          -> text with each (start, end, str) of edits made
 *   attribute_values(text, names) -> [(start, end), ...] of the attributes' relative values
 *   onion_suffixes(text)         -> [start, ...] of ".onion" (ASCII, any case) ending a name
 *   common_url_parts(url)        -> (scheme, netloc, path, query) of the common shape, or None
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

/* 1 for a character below 128 that a URL may hold: not whitespace (Python's \s), not one
 * of "'<>`{}|\^[]() (crawler.url.scan.URL_RE). */
static unsigned char url_char_ascii[128];

static inline int
is_url_char(Py_UCS4 c)
{
    return c < 128 ? url_char_ascii[c] : !Py_UNICODE_ISSPACE(c);
}

static inline int
is_space(Py_UCS4 c) /* what \s matches in a str pattern */
{
    return Py_UNICODE_ISSPACE(c);
}

static inline Py_UCS4
lower_ascii(Py_UCS4 c)
{
    return (c >= 'A' && c <= 'Z') ? c + 32 : c;
}

static inline int
is_hex(Py_UCS4 c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static inline int
is_ipv6_char(Py_UCS4 c) /* [0-9A-Za-z:.%_~-] */
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == ':' || c == '.' ||
           c == '%' || c == '_' || c == '~' || c == '-';
}

static inline int
is_label_char(Py_UCS4 c) /* [A-Za-z0-9-] */
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-';
}

static inline int
is_attribute_boundary(Py_UCS4 c) /* what may stand before an attribute's name: " \t\r\n\f\"'-/" */
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '"' || c == '\'' || c == '-' ||
           c == '/';
}

static inline int
is_host_char(Py_UCS4 c) /* [a-z0-9.-] */
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-';
}

/* The characters of a path and a query that w3lib's canonical form leaves as they are. */
static unsigned char plain_path_ascii[128], plain_query_ascii[128];

static inline int
is_plain_path_char(Py_UCS4 c) /* [A-Za-z0-9\-._~!$'()*,:@/] */
{
    return c < 128 && plain_path_ascii[c];
}

static inline int
is_plain_query_char(Py_UCS4 c) /* [A-Za-z0-9\-._~=&] */
{
    return c < 128 && plain_query_ascii[c];
}

#define CHAR Py_UCS1
#define FN(name) name##_ucs1
#include "_cscan_scan.h"
#undef CHAR
#undef FN
#define CHAR Py_UCS2
#define FN(name) name##_ucs2
#include "_cscan_scan.h"
#undef CHAR
#undef FN
#define CHAR Py_UCS4
#define FN(name) name##_ucs4
#include "_cscan_scan.h"
#undef CHAR
#undef FN

/* One call of the loop for text's width. */
#define BY_KIND(text, call, ...)                                                                                     \
    (PyUnicode_KIND(text) == PyUnicode_1BYTE_KIND                                                                   \
         ? call##_ucs1(PyUnicode_1BYTE_DATA(text), __VA_ARGS__)                                                     \
     : PyUnicode_KIND(text) == PyUnicode_2BYTE_KIND ? call##_ucs2(PyUnicode_2BYTE_DATA(text), __VA_ARGS__)          \
                                                     : call##_ucs4(PyUnicode_4BYTE_DATA(text), __VA_ARGS__))

static int
append_slice(PyObject *list, PyObject *text, Py_ssize_t start, Py_ssize_t end)
{
    PyObject *piece = PyUnicode_Substring(text, start, end);
    if (piece == NULL)
        return -1;
    int failed = PyList_Append(list, piece);
    Py_DECREF(piece);
    return failed;
}

static int
append_new(PyObject *list, PyObject *item) /* steals item */
{
    if (item == NULL)
        return -1;
    int failed = PyList_Append(list, item);
    Py_DECREF(item);
    return failed;
}

static PyObject *
split_urls(PyObject *module, PyObject *text)
{
    if (!PyUnicode_Check(text)) {
        PyErr_SetString(PyExc_TypeError, "split_urls() takes a str");
        return NULL;
    }
    Py_ssize_t n = PyUnicode_GET_LENGTH(text), last = 0, start, end;
    PyObject *parts = PyList_New(0);
    if (parts == NULL)
        return NULL;
    while (BY_KIND(text, next_url, n, last, &start, &end)) {
        if (append_slice(parts, text, last, start) < 0 || append_slice(parts, text, start, end) < 0)
            goto error;
        last = end;
    }
    /* the rest; with no URL the text itself, as re.split gives it */
    if (last == 0 ? PyList_Append(parts, text) < 0 : append_slice(parts, text, last, n) < 0)
        goto error;
    return parts;
error:
    Py_DECREF(parts);
    return NULL;
}

/* Edits of a text: [start, end) replaced by with (a new reference), in order, apart. */
typedef struct {
    Py_ssize_t start, end;
    PyObject *with;
} Edit;

typedef struct {
    Edit *items;
    Py_ssize_t count, size;
} Edits;

static void
edits_clear(Edits *edits)
{
    for (Py_ssize_t k = 0; k < edits->count; k++)
        Py_DECREF(edits->items[k].with);
    PyMem_Free(edits->items);
    edits->items = NULL;
    edits->count = edits->size = 0;
}

static int
edits_add(Edits *edits, Py_ssize_t start, Py_ssize_t end, PyObject *with) /* steals with */
{
    if (edits->count == edits->size) {
        Py_ssize_t size = edits->size ? 2 * edits->size : 64;
        Edit *items = PyMem_Realloc(edits->items, size * sizeof(Edit));
        if (items == NULL) {
            Py_DECREF(with);
            PyErr_NoMemory();
            return -1;
        }
        edits->items = items;
        edits->size = size;
    }
    edits->items[edits->count++] = (Edit){start, end, with};
    return 0;
}

/* The widest class of character in text[start:end]: 127, 255, 0xFFFF or 0x10FFFF. */
static Py_UCS4
span_class(PyObject *text, Py_ssize_t start, Py_ssize_t end)
{
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    Py_UCS4 widest = 0;
    for (Py_ssize_t i = start; i < end; i++) {
        Py_UCS4 c = PyUnicode_READ(kind, data, i);
        if (c > widest)
            widest = c;
    }
    return widest < 128 ? 127 : widest < 256 ? 255 : widest < 0x10000 ? 0xFFFF : 0x10FFFF;
}

/* text with its edits made. The result is written once, in the width it needs: that of text,
 * unless only replaced spans held text's widest characters (then a join finds the width), or
 * a replacement is wider. (A join of slices would narrow each ASCII slice of a UCS-2 page,
 * then widen it again.) */
static PyObject *
apply_edits(PyObject *text, Edits *edits)
{
    if (edits->count == 0)
        return Py_NewRef(text);
    Py_UCS4 width = PyUnicode_MAX_CHAR_VALUE(text), maxchar = width;
    Py_ssize_t length = PyUnicode_GET_LENGTH(text), k, at = 0, last = 0;
    int kept_width = width == 127; /* ASCII text: every kept slice is ASCII too */
    for (k = 0; k < edits->count; k++) {
        Edit *edit = &edits->items[k];
        length += PyUnicode_GET_LENGTH(edit->with) - (edit->end - edit->start);
        if (PyUnicode_MAX_CHAR_VALUE(edit->with) > maxchar)
            maxchar = PyUnicode_MAX_CHAR_VALUE(edit->with);
    }
    if (!kept_width) { /* text's widest class is kept if no replaced span holds a character of it */
        kept_width = 1;
        for (k = 0; k < edits->count && kept_width; k++)
            kept_width = span_class(text, edits->items[k].start, edits->items[k].end) < width;
    }
    if (!kept_width) { /* rare: let a join find the width */
        PyObject *pieces = PyList_New(0), *empty = PyUnicode_New(0, 0), *result = NULL;
        if (pieces == NULL || empty == NULL)
            goto join_done;
        for (k = 0; k < edits->count; k++) {
            Edit *edit = &edits->items[k];
            if (append_slice(pieces, text, last, edit->start) < 0 || PyList_Append(pieces, edit->with) < 0)
                goto join_done;
            last = edit->end;
        }
        if (append_slice(pieces, text, last, PyUnicode_GET_LENGTH(text)) == 0)
            result = PyUnicode_Join(empty, pieces);
    join_done:
        Py_XDECREF(pieces);
        Py_XDECREF(empty);
        return result;
    }
    PyObject *out = PyUnicode_New(length, maxchar);
    if (out == NULL)
        return NULL;
    for (k = 0; k < edits->count; k++) {
        Edit *edit = &edits->items[k];
        Py_ssize_t kept = edit->start - last, added = PyUnicode_GET_LENGTH(edit->with);
        if (PyUnicode_CopyCharacters(out, at, text, last, kept) < 0 ||
            PyUnicode_CopyCharacters(out, at + kept, edit->with, 0, added) < 0) {
            Py_DECREF(out);
            return NULL;
        }
        at += kept + added;
        last = edit->end;
    }
    if (PyUnicode_CopyCharacters(out, at, text, last, PyUnicode_GET_LENGTH(text) - last) < 0) {
        Py_DECREF(out);
        return NULL;
    }
    return out;
}

static PyObject *
substitute_urls(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 3 || !PyUnicode_Check(args[0]) || !PyDict_Check(args[1])) {
        PyErr_SetString(PyExc_TypeError, "substitute_urls() takes a str, a dict and a callable");
        return NULL;
    }
    PyObject *text = args[0], *memo = args[1], *rewrite = args[2], *result = NULL;
    Py_ssize_t n = PyUnicode_GET_LENGTH(text), from = 0, start, end;
    Edits edits = {NULL, 0, 0};
    while (BY_KIND(text, next_url, n, from, &start, &end)) {
        from = end;
        PyObject *url = PyUnicode_Substring(text, start, end), *canonical;
        if (url == NULL)
            goto done;
        canonical = PyDict_GetItemWithError(memo, url); /* borrowed */
        if (canonical != NULL)
            Py_INCREF(canonical);
        else if (!PyErr_Occurred())
            canonical = PyObject_CallOneArg(rewrite, url);
        if (canonical == NULL || !PyUnicode_Check(canonical)) {
            if (canonical != NULL)
                PyErr_SetString(PyExc_TypeError, "substitute_urls(): rewrite must give a str");
            Py_DECREF(url);
            Py_XDECREF(canonical);
            goto done;
        }
        int same = PyUnicode_Compare(canonical, url) == 0; /* then it stays in the text around it */
        Py_DECREF(url);
        if (same)
            Py_DECREF(canonical);
        else if (edits_add(&edits, start, end, canonical) < 0)
            goto done;
    }
    result = apply_edits(text, &edits);
done:
    edits_clear(&edits);
    return result;
}

static PyObject *
splice(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2 || !PyUnicode_Check(args[0]) || !PyList_Check(args[1])) {
        PyErr_SetString(PyExc_TypeError, "splice() takes a str and a list of (start, end, str)");
        return NULL;
    }
    PyObject *text = args[0], *list = args[1], *result = NULL;
    Py_ssize_t n = PyUnicode_GET_LENGTH(text), last = 0;
    Edits edits = {NULL, 0, 0};
    for (Py_ssize_t k = 0; k < PyList_GET_SIZE(list); k++) {
        Py_ssize_t start, end;
        PyObject *with;
        if (!PyArg_ParseTuple(PyList_GET_ITEM(list, k), "nnU;splice() takes (start, end, str) edits", &start,
                              &end, &with))
            goto done;
        if (start < last || end < start || end > n) {
            PyErr_SetString(PyExc_ValueError, "splice(): the edits must be in order, apart, within the text");
            goto done;
        }
        if (edits_add(&edits, start, end, Py_NewRef(with)) < 0)
            goto done;
        last = end;
    }
    result = apply_edits(text, &edits);
done:
    edits_clear(&edits);
    return result;
}

/* At most this many attribute names (the rewriter has four). */
#define MAX_NAMES 16

static PyObject *
attribute_values(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2 || !PyUnicode_Check(args[0]) || !PyTuple_Check(args[1])) {
        PyErr_SetString(PyExc_TypeError, "attribute_values() takes a str and a tuple of str");
        return NULL;
    }
    PyObject *text = args[0], *names = args[1];
    const char *ascii[MAX_NAMES];
    Py_ssize_t lengths[MAX_NAMES], count = PyTuple_GET_SIZE(names);
    if (count > MAX_NAMES) {
        PyErr_SetString(PyExc_ValueError, "attribute_values() takes at most 16 names");
        return NULL;
    }
    for (Py_ssize_t k = 0; k < count; k++) {
        PyObject *name = PyTuple_GET_ITEM(names, k);
        if (!PyUnicode_Check(name) || !PyUnicode_IS_ASCII(name)) {
            PyErr_SetString(PyExc_ValueError, "attribute_values() takes ASCII names");
            return NULL;
        }
        ascii[k] = (const char *)PyUnicode_1BYTE_DATA(name);
        lengths[k] = PyUnicode_GET_LENGTH(name);
    }
    Py_ssize_t n = PyUnicode_GET_LENGTH(text), pos = 0, at;
    PyObject *spans = PyList_New(0);
    if (spans == NULL)
        return NULL;
    /* Every "=" found at memchr's speed, the name before it (and whitespace) looked up: the
     * same as scanning for the names left to right, as a name is followed by "=" or no value. */
    for (at = PyUnicode_FindChar(text, '=', 0, n, 1); at >= 0; at = PyUnicode_FindChar(text, '=', at + 1, n, 1)) {
        Py_ssize_t length = 0, start = 0, stop = 0, end = 0;
        Py_ssize_t index = BY_KIND(text, name_before, at, pos, ascii, lengths, count, &length);
        if (index < 0)
            continue;
        int found = BY_KIND(text, read_value, n, index + length, &start, &stop, &end);
        if (found == 0) /* no value: this name is text */
            continue;
        if (found == 2 && (index == 0 || is_attribute_boundary(PyUnicode_READ_CHAR(text, index - 1)))) {
            if (append_new(spans, Py_BuildValue("(nn)", start, stop)) < 0)
                goto error;
        }
        pos = end; /* the value is read whole */
        at = end - 1;
    }
    if (at == -2)
        goto error;
    return spans;
error:
    Py_DECREF(spans);
    return NULL;
}

static PyObject *
onion_suffixes(PyObject *module, PyObject *text)
{
    if (!PyUnicode_Check(text)) {
        PyErr_SetString(PyExc_TypeError, "onion_suffixes() takes a str");
        return NULL;
    }
    Py_ssize_t n = PyUnicode_GET_LENGTH(text), at;
    PyObject *starts = PyList_New(0);
    if (starts == NULL)
        return NULL;
    for (at = PyUnicode_FindChar(text, '.', 0, n, 1); at >= 0; at = PyUnicode_FindChar(text, '.', at + 1, n, 1)) {
        if (BY_KIND(text, onion_at, n, at)) {
            if (append_new(starts, PyLong_FromSsize_t(at)) < 0)
                goto error;
            at += 5;
        }
    }
    if (at == -2)
        goto error;
    return starts;
error:
    Py_DECREF(starts);
    return NULL;
}

static PyObject *scheme_http, *scheme_https; /* the two schemes, one object each */

static PyObject *
part_or_none(PyObject *url, Py_ssize_t start, Py_ssize_t end)
{
    return start < 0 ? Py_NewRef(Py_None) : PyUnicode_Substring(url, start, end);
}

static PyObject *
common_url_parts(PyObject *module, PyObject *url)
{
    if (!PyUnicode_Check(url)) {
        PyErr_SetString(PyExc_TypeError, "common_url_parts() takes a str");
        return NULL;
    }
    Py_ssize_t parts[7];
    if (!BY_KIND(url, common_url, PyUnicode_GET_LENGTH(url), parts))
        Py_RETURN_NONE;
    PyObject *scheme = Py_NewRef(parts[0] == 5 ? scheme_https : scheme_http);
    PyObject *netloc = PyUnicode_Substring(url, parts[1], parts[2]);
    PyObject *path = part_or_none(url, parts[3], parts[4]);
    PyObject *query = part_or_none(url, parts[5], parts[6]);
    if (netloc == NULL || path == NULL || query == NULL) {
        Py_DECREF(scheme);
        Py_XDECREF(netloc);
        Py_XDECREF(path);
        Py_XDECREF(query);
        return NULL;
    }
    PyObject *result = PyTuple_Pack(4, scheme, netloc, path, query);
    Py_DECREF(scheme);
    Py_DECREF(netloc);
    Py_DECREF(path);
    Py_DECREF(query);
    return result;
}

static PyMethodDef methods[] = {
    {"split_urls", (PyCFunction)split_urls, METH_O, "text split around its URLs: text, URL, text, ..., text."},
    {"attribute_values", (PyCFunction)(void (*)(void))attribute_values, METH_FASTCALL,
     "The (start, end) spans of the relative values of the attributes names in text."},
    {"onion_suffixes", (PyCFunction)onion_suffixes, METH_O, "Where in text '.onion' (ASCII, any case) ends a host name."},
    {"splice", (PyCFunction)(void (*)(void))splice, METH_FASTCALL,
     "text with each (start, end, str) of edits made: the span replaced by the str."},
    {"substitute_urls", (PyCFunction)(void (*)(void))substitute_urls, METH_FASTCALL,
     "text with each URL replaced by memo[url], or by rewrite(url) where memo has none."},
    {"common_url_parts", (PyCFunction)common_url_parts, METH_O,
     "(scheme, netloc, path, query) of a URL of the common shape, or None."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "_cscan", "crawler.url.scan's functions in C.", -1, methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC
PyInit__cscan(void)
{
    static const char ends[] = "\"'<>`{}|\\^[]()";
    for (Py_UCS4 c = 1; c < 128; c++)
        url_char_ascii[c] = !Py_UNICODE_ISSPACE(c) && strchr(ends, (int)c) == NULL;
    url_char_ascii[0] = 1; /* NUL is a URL character (and strchr would find the string's end) */
    static const char path[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$'()*,:@/";
    static const char query[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~=&";
    for (const char *c = path; *c; c++)
        plain_path_ascii[(unsigned char)*c] = 1;
    for (const char *c = query; *c; c++)
        plain_query_ascii[(unsigned char)*c] = 1;
    scheme_http = PyUnicode_InternFromString("http");
    scheme_https = PyUnicode_InternFromString("https");
    if (scheme_http == NULL || scheme_https == NULL)
        return NULL;
    return PyModule_Create(&module_def);
}
