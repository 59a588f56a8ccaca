/* mtd_tenants: tenant directories, keys, tokens and the cache of open stores. */
#include "collector/mtd_tenants.h"
#include "common/mtd_err.h"
#include "common/mtd_file.h"
#include "common/mtd_log.h"
#include "common/mtd_util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#define GHOSTS 256

typedef struct {
    mtd_tenant t;
    int refs;
    int used;
    time_t last_used;
    uint64_t use; /* t->uses when last borrowed or released: the LRU's order */
} slot;

struct mtd_tenants {
    char data[1024];
    int lock_fd; /* DATA/collector.lock, locked while this collector runs */
    mtd_store_cluster *pg; /* --store postgresql://...: tenants live there, not in DATA */
    char op_hash[65];
    mtd_store *decoy; /* where a token naming no tenant is looked up (mtd_auth) */
    uint64_t opens;   /* stores opened since start */
    uint64_t evictions; /* idle stores closed to open another (LRU) */
    uint64_t uses;      /* borrows and releases so far */
    pthread_mutex_t mu;
    int max_open;     /* --max-open-stores: slots */
    slot *slots;
    /* tenant IDs named by tokens that name no tenant, "open" as a real tenant's store
     * would be: the first token naming one costs a store open (of the decoy) and the
     * cold-open limit, later ones nothing, until it is idle as long as a store. Else
     * the limit told them apart: an unknown ID was limited every time, a real one once */
    struct {
        char id[MTD_TENANT_ID_LEN + 1];
        time_t last_used;
    } ghosts[GHOSTS];
};

int mtd_tenant_id_valid(const char *id)
{
    if (strlen(id) != MTD_TENANT_ID_LEN)
        return 0;
    for (const char *p = id; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
            return 0;
    return 1;
}

static void tenant_dir(const mtd_tenants *t, const char *id, char *out, size_t len)
{
    snprintf(out, len, "%s/tenants/%s", t->data, id);
}

int mtd_token_new(const char *kind, const char *tenant, char *tok, size_t toklen, char hash[65])
{
    char secret[64];
    int r = mtd_random_token(32, secret, sizeof secret);
    if (r)
        return r;
    int n = tenant ? snprintf(tok, toklen, "%s.%s.%s", kind, tenant, secret)
                   : snprintf(tok, toklen, "%s.%s", kind, secret);
    if (n < 0 || (size_t)n >= toklen)
        return MTD_EINVAL;
    mtd_sha256_hex(tok, strlen(tok), hash);
    return 0;
}

int mtd_token_parse(const char *tok, char *kind, size_t kindlen, char *tenant, size_t tlen)
{
    const char *d1 = strchr(tok, '.');
    if (!d1 || (size_t)(d1 - tok) >= kindlen || strlen(tok) > 200)
        return MTD_EAUTH;
    snprintf(kind, kindlen, "%.*s", (int)(d1 - tok), tok);
    tenant[0] = 0;
    const char *d2 = strchr(d1 + 1, '.');
    if (!d2)
        return strcmp(kind, "op") == 0 ? 0 : MTD_EAUTH;
    if ((size_t)(d2 - d1 - 1) >= tlen)
        return MTD_EAUTH;
    snprintf(tenant, tlen, "%.*s", (int)(d2 - d1 - 1), d1 + 1);
    return mtd_tenant_id_valid(tenant) ? 0 : MTD_EAUTH;
}

/* First start: create the operator token (0600) and remember only its hash. */
static int local_operator_token(mtd_tenants *t, char *why, size_t wl);
static int operator_token(mtd_tenants *t, char *why, size_t wl)
{
    int r = local_operator_token(t, why, wl);
    /* on PostgreSQL every collector's token is good on all of them */
    if (r == 0 && t->pg && (r = mtd_store_pg_operator_add(t->pg, t->op_hash)) != 0)
        snprintf(why, wl, "PostgreSQL: cannot record the operator token (%s)", mtd_strerror(r));
    return r;
}

static int local_operator_token(mtd_tenants *t, char *why, size_t wl)
{
    char hp[1200], tp[1200];
    snprintf(hp, sizeof hp, "%s/operator.hash", t->data);
    snprintf(tp, sizeof tp, "%s/operator.token", t->data);
    if (mtd_file_read_line(hp, t->op_hash, sizeof t->op_hash) == 0 && strlen(t->op_hash) == 64)
        return 0;
    char tok[128], line[140];
    int r = mtd_token_new("op", NULL, tok, sizeof tok, t->op_hash);
    if (r)
        return r;
    snprintf(line, sizeof line, "%s\n", tok);
    if ((r = mtd_file_write_atomic(tp, line, strlen(line), 0600)) != 0 ||
        (r = mtd_file_write_atomic(hp, t->op_hash, 64, 0600)) != 0)
        snprintf(why, wl, "cannot write %s: %s", tp, mtd_strerror(r));
    return r;
}

/* One collector per data directory: a second one would overwrite collector.url and
 * the operator token's files, and open the same stores. An advisory fcntl lock on
 * DATA/collector.lock is held while this one runs (the kernel drops it when the process
 * ends, however it ends); F_GETLK names the holder's PID, which a stale PID file could
 * not do honestly. The file also holds the PID, for people. */
static int lock_data_dir(mtd_tenants *t, char *why, size_t wl)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/collector.lock", t->data);
    t->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (t->lock_fd < 0) {
        int r = mtd_errno_code(errno);
        snprintf(why, wl, "cannot open %s: %s", path, mtd_strerror(r));
        return r;
    }
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
    if (fcntl(t->lock_fd, F_SETLK, &fl) != 0) {
        struct flock who = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
        if (fcntl(t->lock_fd, F_GETLK, &who) == 0 && who.l_type != F_UNLCK)
            snprintf(why, wl, "data directory %s is in use by another mtd-collector (PID %ld)",
                     t->data, (long)who.l_pid);
        else
            snprintf(why, wl, "data directory %s is in use by another mtd-collector", t->data);
        return MTD_EBUSY;
    }
    char pid[24];
    int n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    if (ftruncate(t->lock_fd, 0) != 0 || pwrite(t->lock_fd, pid, (size_t)n, 0) != n)
        mtd_log(MTD_LOG_WARN, "tenants", "could not write the PID to %s", path);
    return 0;
}

int mtd_tenants_open(const char *data_dir, mtd_tenants **out, char *why, size_t whylen)
{
    return mtd_tenants_open_store(data_dir, NULL, 0, out, why, whylen);
}

int mtd_tenants_open_store(const char *data_dir, const char *store_url, int pool, mtd_tenants **out,
                           char *why, size_t whylen)
{
    mtd_store_kind kind;
    int r = mtd_store_url_kind(store_url, &kind, why, whylen);
    if (r)
        return r;
    mtd_tenants *t = calloc(1, sizeof *t);
    if (!t)
        return MTD_ENOMEM;
    mtd_strlcpy(t->data, data_dir, sizeof t->data);
    pthread_mutex_init(&t->mu, NULL);
    t->max_open = MTD_TENANTS_MAX_OPEN;
    t->slots = calloc((size_t)t->max_open, sizeof *t->slots);
    if (!t->slots) {
        free(t);
        return MTD_ENOMEM;
    }
    t->lock_fd = -1;
    char dir[1200];
    snprintf(dir, sizeof dir, "%s/tenants", data_dir);
    r = mtd_mkdir_p(dir, 0700);
    if (r) {
        snprintf(why, whylen, "cannot create %s: %s", dir, mtd_strerror(r));
    } else {
        chmod(data_dir, 0700);
        r = lock_data_dir(t, why, whylen);
        if (r == 0 && kind == MTD_STORE_POSTGRESQL)
            r = mtd_store_pg_open(store_url, pool > 0 ? pool : 8, &t->pg, why, whylen);
        if (r == 0)
            r = operator_token(t, why, whylen);
    }
    snprintf(dir, sizeof dir, "%s/decoy", data_dir);
    if (r == 0 && (r = mtd_mkdir_p(dir, 0700)) == 0)
        r = mtd_store_open(dir, &t->decoy, why, whylen);
    if (r) {
        mtd_tenants_close(t);
        return r;
    }
    *out = t;
    return 0;
}

void mtd_tenants_close(mtd_tenants *t)
{
    if (!t)
        return;
    for (int i = 0; i < t->max_open; i++)
        if (t->slots[i].used)
            mtd_store_close(t->slots[i].t.store);
    free(t->slots);
    mtd_store_close(t->decoy);
    mtd_store_pg_close(t->pg);
    if (t->lock_fd >= 0)
        close(t->lock_fd); /* releases the lock */
    pthread_mutex_destroy(&t->mu);
    free(t);
}

const char *mtd_tenants_data_dir(const mtd_tenants *t)
{
    return t->data;
}

void mtd_tenants_decoy_lookup(mtd_tenants *t, const char *hash, int device)
{
    mtd_role role;
    mtd_cred_binding b;
    if (!t->decoy) /* the read a real tenant's check makes, and finds nothing */
        return;
    if (device) /* one read, as for a real tenant: two made the 401 ~40 us slower */
        mtd_store_cred_lookup(t->decoy, hash, &b);
    else
        mtd_store_token_role(t->decoy, hash, &role);
}

mtd_store_cluster *mtd_tenants_cluster(const mtd_tenants *t)
{
    return t->pg;
}

int mtd_tenants_is_operator(mtd_tenants *t, const char *tok)
{
    char h[65];
    mtd_sha256_hex(tok, strlen(tok), h);
    if (mtd_ct_equal(h, t->op_hash, 64))
        return 0;
    if (!t->pg || strncmp(tok, "op.", 3) != 0)
        return MTD_EAUTH;
    int r = mtd_store_pg_operator_known(t->pg, h);
    return r == MTD_ENOENT ? MTD_EAUTH : r;
}

static int write_tenant_files(const char *dir, const char *name, const char *org,
                              const mtd_tenant_key *key)
{
    char path[1300], hex[65], line[80];
    json_t *j = json_pack("{s:s,s:s,s:I}", "name", name, "org_id", org, "created_at",
                          (json_int_t)time(NULL));
    char *s = json_dumps(j, JSON_INDENT(2));
    json_decref(j);
    snprintf(path, sizeof path, "%s/tenant.json", dir);
    int r = s ? mtd_file_write_atomic(path, s, strlen(s), 0600) : MTD_ENOMEM;
    free(s);
    if (r)
        return r;
    mtd_tenant_key_to_hex(key, hex);
    snprintf(line, sizeof line, "%s\n", hex);
    snprintf(path, sizeof path, "%s/tenant.key", dir);
    return mtd_file_write_atomic(path, line, strlen(line), 0600);
}

int mtd_tenants_create(mtd_tenants *t, const char *name, const char *org, char *id_out,
                       char *enroll_token, char *admin_token, size_t toklen)
{
    uint8_t rnd[8];
    mtd_tenant_key key;
    int r;
    if ((r = mtd_random(rnd, sizeof rnd)) != 0 || (r = mtd_tenant_key_generate(&key)) != 0)
        return r;
    mtd_hex(rnd, sizeof rnd, id_out);
    if (t->pg) {
        char hex[65];
        mtd_tenant_key_to_hex(&key, hex);
        r = mtd_store_pg_tenant_create(t->pg, id_out, name, org && org[0] ? org : id_out, hex,
                                       (int64_t)time(NULL));
        explicit_bzero(hex, sizeof hex);
    } else {
        char dir[1200];
        tenant_dir(t, id_out, dir, sizeof dir);
        if ((r = mtd_mkdir_p(dir, 0700)) == 0)
            r = write_tenant_files(dir, name, org && org[0] ? org : id_out, &key);
    }
    explicit_bzero(&key, sizeof key);
    if (r)
        return r;
    mtd_tenant *tn;
    if ((r = mtd_tenants_get(t, id_out, &tn)) != 0)
        return r;
    char eh[65], ah[65];
    if ((r = mtd_token_new("enr", id_out, enroll_token, toklen, eh)) == 0 &&
        (r = mtd_token_new("adm", id_out, admin_token, toklen, ah)) == 0 &&
        (r = mtd_store_token_add(tn->store, eh, MTD_ROLE_ENROLL, "initial enrollment token")) == 0 &&
        (r = mtd_store_token_add(tn->store, ah, MTD_ROLE_ADMIN, "initial admin token")) == 0) {
        mtd_policy p;
        mtd_policy_default(&p);
        r = mtd_store_policy_set(tn->store, &p);
    }
    mtd_tenants_put(t, tn);
    return r;
}

json_t *mtd_tenants_list(mtd_tenants *t)
{
    if (t->pg)
        return mtd_store_pg_tenant_list(t->pg);
    char dir[1200];
    snprintf(dir, sizeof dir, "%s/tenants", t->data);
    json_t *arr = json_array();
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        if (!mtd_tenant_id_valid(e->d_name))
            continue;
        char path[1400];
        snprintf(path, sizeof path, "%s/%s/tenant.json", dir, e->d_name);
        json_t *j = json_load_file(path, 0, NULL);
        /* tenant.json keeps Unix seconds; the API answers every time in RFC 3339 UTC */
        json_t *created = json_object_get(j, "created_at");
        char when[MTD_TIME_LEN];
        if (json_is_integer(created))
            mtd_time_rfc3339((time_t)json_integer_value(created), when);
        json_t *o = json_pack("{s:s,s:O?,s:O?,s:s?}", "tenant_id", e->d_name,
                              "name", json_object_get(j, "name"),
                              "org_id", json_object_get(j, "org_id"),
                              "created_at", json_is_integer(created) ? when : NULL);
        json_decref(j);
        json_array_append_new(arr, o);
    }
    if (d)
        closedir(d);
    return arr;
}

static slot *find_slot(mtd_tenants *t, const char *id)
{
    for (int i = 0; i < t->max_open; i++)
        if (t->slots[i].used && !strcmp(t->slots[i].t.id, id))
            return &t->slots[i];
    return NULL;
}

/* A tenant of the PostgreSQL cluster: its key and org from the registry. */
static int open_cluster_tenant(mtd_tenants *t, const char *id, mtd_tenant *tn)
{
    char hex[80];
    int r = mtd_store_pg_tenant_load(t->pg, id, hex, tn->org_id, sizeof tn->org_id);
    if (r == 0 && mtd_tenant_key_from_hex(&tn->key, hex) != 0)
        r = MTD_ECORRUPT;
    explicit_bzero(hex, sizeof hex);
    return r ? r : mtd_store_pg_open_tenant(t->pg, id, &tn->store);
}

/* A tenant's key file: unreadable is no such tenant, except when the process is out of
 * descriptors (MTD_EBUSY): that tenant exists, and a 401 for it would make its devices
 * set their batches aside as refused, for good. */
static int key_read(const char *path, char *hex, size_t len)
{
    int r = mtd_file_read_line(path, hex, len);
    return r == 0 || r == MTD_EBUSY ? r : MTD_ENOENT;
}

/* A tenant directory: tenant.key, tenant.json and the SQLite store. */
static int open_dir_tenant(mtd_tenants *t, const char *id, mtd_tenant *tn)
{
    char dir[1200], path[1300], hex[80], why[256];
    tenant_dir(t, id, dir, sizeof dir);
    snprintf(path, sizeof path, "%s/tenant.key", dir);
    int r = key_read(path, hex, sizeof hex);
    if (r)
        return r;
    if (mtd_tenant_key_from_hex(&tn->key, hex) != 0)
        return MTD_ECORRUPT;
    snprintf(path, sizeof path, "%s/tenant.json", dir);
    json_t *j = json_load_file(path, 0, NULL);
    mtd_strlcpy(tn->org_id, json_string_value(json_object_get(j, "org_id")) ?: id, sizeof tn->org_id);
    json_decref(j);
    r = mtd_store_open(dir, &tn->store, why, sizeof why);
    if (r)
        mtd_log(MTD_LOG_ERROR, "tenants", "open tenant=%s: %s", id, why);
    return r;
}

/* Opens a tenant into a free slot (an idle one is closed if all are taken). A tenant
 * that does not exist is known before any slot is touched: a token naming a made-up
 * tenant closed a real tenant's idle store to make room, then found nothing. */
/* Whether a tenant exists: its key file, or its row in the cluster's registry. */
static int tenant_exists(mtd_tenants *t, const char *id)
{
    char dir[1200], path[1300], hex[80], org[160];
    int r;
    if (t->pg) {
        r = mtd_store_pg_tenant_load(t->pg, id, hex, org, sizeof org);
    } else {
        tenant_dir(t, id, dir, sizeof dir);
        snprintf(path, sizeof path, "%s/tenant.key", dir);
        r = key_read(path, hex, sizeof hex);
    }
    explicit_bzero(hex, sizeof hex);
    return r;
}

/* An open SQLite store holds up to STORE_FDS descriptors (three connections, each with
 * the file and its WAL, the -shm, summary.sqlite with its WAL and -shm, and the
 * checkpointer's connection once it ran). A store open that would bring the process
 * within FD_RESERVE of RLIMIT_NOFILE first closes the least recently used idle store
 * as well, however few are open: the bound of --max-open-stores alone let a
 * collector with few descriptors fail batches on "too many open files" (a store
 * costs what --max-open-stores cannot know: which files are open, and how many
 * connections). Counted in /proc/self/fd at each open (about a millisecond at
 * thousands), which a store open (22-86 ms) can pay. */
#define STORE_FDS 12
#define FD_RESERVE 32

static int fds_short(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY)
        return 0;
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return 0;
    long n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        n += e->d_name[0] != '.';
    closedir(d);
    return n + STORE_FDS + FD_RESERVE > (long)rl.rlim_cur;
}

/* A free slot, or the least recently used one that nobody holds (none of its batches
 * is in flight: a request holds its tenant until it is answered), emptied; its store
 * goes to *evicted, for the caller to close once t->mu is released (a close may copy
 * the WAL into the database file, and every tenant's lookup waits on t->mu). With a
 * free slot, the least recently used idle store is still closed when descriptors are
 * short (fds_short). */
static slot *free_slot(mtd_tenants *t, mtd_store **evicted)
{
    slot *lru = NULL, *free_s = NULL;
    for (int i = 0; i < t->max_open && !free_s; i++)
        if (!t->slots[i].used)
            free_s = &t->slots[i];
    if (free_s && (t->pg || !fds_short()))
        return free_s;
    for (int i = 0; i < t->max_open; i++) {
        slot *s = &t->slots[i];
        if (s->used && s->refs == 0 && (!lru || s->use < lru->use))
            lru = s;
    }
    if (lru) {
        *evicted = lru->t.store;
        memset(lru, 0, sizeof *lru); /* the key goes with the store */
        t->evictions++;
    }
    return free_s ? free_s : lru;
}

static int open_slot(mtd_tenants *t, const char *id, slot **out, mtd_store **evicted)
{
    int r = tenant_exists(t, id);
    if (r)
        return r;
    slot *free_s = free_slot(t, evicted);
    if (!free_s)
        return MTD_EBUSY;
    mtd_tenant *tn = &free_s->t;
    r = t->pg ? open_cluster_tenant(t, id, tn) : open_dir_tenant(t, id, tn);
    if (r) {
        memset(free_s, 0, sizeof *free_s);
        return r;
    }
    mtd_strlcpy(tn->id, id, sizeof tn->id);
    free_s->used = 1;
    t->opens++;
    *out = free_s;
    return 0;
}

/* Caller holds t->mu. The ghost entry of id, or NULL. */
static int find_ghost(mtd_tenants *t, const char *id)
{
    for (int i = 0; i < GHOSTS; i++)
        if (t->ghosts[i].id[0] && !strcmp(t->ghosts[i].id, id))
            return i;
    return -1;
}

/* Caller holds t->mu. A tenant ID that names no tenant: "opened" as a ghost, with the
 * work of a store open (the decoy's) the first time. */
static void open_ghost(mtd_tenants *t, const char *id)
{
    int g = find_ghost(t, id);
    if (g < 0) {
        g = 0;
        for (int i = 1; i < GHOSTS; i++)
            if (t->ghosts[i].last_used < t->ghosts[g].last_used)
                g = i;
        mtd_strlcpy(t->ghosts[g].id, id, sizeof t->ghosts[g].id);
        char dir[1200], why[256];
        mtd_store *st;
        snprintf(dir, sizeof dir, "%s/decoy", t->data);
        if (mtd_store_open(dir, &st, why, sizeof why) == 0)
            mtd_store_close(st);
    }
    t->ghosts[g].last_used = time(NULL);
}

int mtd_tenants_get(mtd_tenants *t, const char *id, mtd_tenant **out)
{
    if (!mtd_tenant_id_valid(id))
        return MTD_ENOENT;
    mtd_store *evicted = NULL;
    pthread_mutex_lock(&t->mu);
    slot *s = find_slot(t, id);
    int r = s ? 0 : open_slot(t, id, &s, &evicted);
    if (r == 0) {
        s->refs++;
        s->last_used = time(NULL);
        s->use = ++t->uses;
        *out = &s->t;
    } else if (r == MTD_ENOENT) {
        open_ghost(t, id);
    }
    pthread_mutex_unlock(&t->mu);
    mtd_store_close(evicted);
    return r;
}

int mtd_tenants_is_open(mtd_tenants *t, const char *id)
{
    pthread_mutex_lock(&t->mu);
    int open = find_slot(t, id) != NULL || find_ghost(t, id) >= 0;
    pthread_mutex_unlock(&t->mu);
    return open;
}

void mtd_tenants_stats(mtd_tenants *t, mtd_tenants_counts *c)
{
    memset(c, 0, sizeof *c);
    pthread_mutex_lock(&t->mu);
    for (int i = 0; i < t->max_open; i++)
        c->open += t->slots[i].used;
    c->max_open = (unsigned)t->max_open;
    c->opens = t->opens;
    c->evictions = t->evictions;
    pthread_mutex_unlock(&t->mu);
}

int mtd_tenants_set_max_open(mtd_tenants *t, int n)
{
    if (n < 1)
        return MTD_EINVAL;
    pthread_mutex_lock(&t->mu);
    int r = 0;
    for (int i = 0; i < t->max_open && r == 0; i++)
        if (t->slots[i].used)
            r = MTD_EBUSY; /* only before the first store opens */
    slot *ns = r ? NULL : calloc((size_t)n, sizeof *ns);
    if (r == 0 && !ns)
        r = MTD_ENOMEM;
    if (r == 0) {
        free(t->slots);
        t->slots = ns;
        t->max_open = n;
    }
    pthread_mutex_unlock(&t->mu);
    return r;
}

void mtd_tenants_put(mtd_tenants *t, mtd_tenant *tn)
{
    pthread_mutex_lock(&t->mu);
    slot *s = (slot *)((char *)tn - offsetof(slot, t));
    s->refs--;
    s->last_used = time(NULL);
    s->use = ++t->uses;
    pthread_mutex_unlock(&t->mu);
}

void mtd_tenants_close_unused(mtd_tenants *t, const char *id)
{
    pthread_mutex_lock(&t->mu);
    slot *s = find_slot(t, id);
    if (s && s->refs == 0) {
        mtd_store_close(s->t.store);
        memset(s, 0, sizeof *s);
    }
    pthread_mutex_unlock(&t->mu);
}

int mtd_tenants_close_idle(mtd_tenants *t, int idle_s)
{
    int closed = 0;
    time_t now = time(NULL);
    pthread_mutex_lock(&t->mu);
    for (int i = 0; i < t->max_open; i++) {
        slot *s = &t->slots[i];
        if (s->used && s->refs == 0 && now - s->last_used >= idle_s) {
            mtd_store_close(s->t.store);
            memset(s, 0, sizeof *s); /* the key goes with the store */
            closed++;
        }
    }
    for (int i = 0; i < GHOSTS; i++)
        if (t->ghosts[i].id[0] && now - t->ghosts[i].last_used >= idle_s)
            t->ghosts[i].id[0] = 0;
    pthread_mutex_unlock(&t->mu);
    return closed;
}

int mtd_tenants_delete(mtd_tenants *t, const char *id)
{
    if (!mtd_tenant_id_valid(id))
        return MTD_ENOENT;
    char dir[1200];
    tenant_dir(t, id, dir, sizeof dir);
    struct stat st;
    pthread_mutex_lock(&t->mu);
    slot *s = find_slot(t, id);
    int r = 0;
    if (s && s->refs > 0)
        r = MTD_EBUSY;
    else if (!t->pg && stat(dir, &st) != 0)
        r = MTD_ENOENT;
    if (r == 0) {
        if (s) {
            mtd_store_close(s->t.store);
            memset(s, 0, sizeof *s);
        }
        /* key, store, WAL and all; on PostgreSQL the schema, role and key */
        r = t->pg ? mtd_store_pg_tenant_delete(t->pg, id) : mtd_rm_rf(dir);
        if (r == 0 && t->pg) { /* this collector's copies of the tenant's feeds, its alert file */
            mtd_rm_rf(dir);
            snprintf(dir, sizeof dir, "%s/feedcache/%s", t->data, id);
            mtd_rm_rf(dir);
        }
    }
    pthread_mutex_unlock(&t->mu);
    return r;
}
