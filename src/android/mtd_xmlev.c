/* mtd_xmlev: text XML through expat, ABX through mtd_abx, behind one callback set. */
#include "android/mtd_xmlev.h"
#include "common/mtd_err.h"

#include <expat.h>
#include <stdio.h>
#include <string.h>

typedef struct {
    const mtd_xmlev *cb;
    XML_Parser p;
    int doctype;
} ud_t;

static void XMLCALL on_start(void *ud, const XML_Char *name, const XML_Char **attrs)
{
    const mtd_xmlev *cb = ((ud_t *)ud)->cb;
    cb->start(cb->ctx, name, attrs);
}

static void XMLCALL on_end(void *ud, const XML_Char *name)
{
    const mtd_xmlev *cb = ((ud_t *)ud)->cb;
    cb->end(cb->ctx, name);
}

static void XMLCALL on_text(void *ud, const XML_Char *s, int len)
{
    const mtd_xmlev *cb = ((ud_t *)ud)->cb;
    if (cb->text)
        cb->text(cb->ctx, s, (size_t)len);
}

/* Android never writes a DOCTYPE; refusing one rules out entity expansion from a
 * device file (billion laughs) whatever expat's own limits are. */
static void XMLCALL on_doctype(void *ud, const XML_Char *name, const XML_Char *sys,
                               const XML_Char *pub, int internal)
{
    ud_t *u = ud;
    u->doctype = 1;
    XML_StopParser(u->p, XML_FALSE);
}

int mtd_xmlev_parse(const uint8_t *buf, size_t len, const mtd_xmlev *cb, char *why, size_t wl)
{
    if (len >= 4 && memcmp(buf, "ABX\0", 4) == 0)
        return mtd_abx_parse(buf, len, cb, why, wl);
    if (len > 0x7fffffff) {
        snprintf(why, wl, "XML file too large");
        return MTD_ETOOBIG;
    }
    XML_Parser p = XML_ParserCreate("UTF-8");
    if (!p)
        return MTD_ENOMEM;
    ud_t u = {cb, p, 0};
    XML_SetUserData(p, &u);
    XML_SetElementHandler(p, on_start, on_end);
    XML_SetCharacterDataHandler(p, on_text);
    XML_SetStartDoctypeDeclHandler(p, on_doctype);
    int r = 0;
    if (XML_Parse(p, (const char *)buf, (int)len, 1) == XML_STATUS_ERROR || u.doctype) {
        snprintf(why, wl, "XML: %s at line %lu", u.doctype ? "a DOCTYPE is not allowed"
                 : XML_ErrorString(XML_GetErrorCode(p)), (unsigned long)XML_GetCurrentLineNumber(p));
        r = MTD_EINVAL;
    }
    XML_ParserFree(p);
    return r;
}
