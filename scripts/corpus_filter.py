#!/usr/bin/python3
"""Helper of scripts/fetch_corpus.sh: turns extracted Debian packages into the photo corpus.

  corpus_filter.py build --work DIR --packages TSV --photos data/photos --dest DIR [--sheets]

--packages lists `package<TAB>version<TAB>extracted-root` (one line per package, written by
fetch_corpus.sh). Every image file in those trees (and every image inside GCompris' Qt .rcc
resource bundles) is a candidate. Each candidate is measured and either kept or dropped for the
FIRST rule it fails, in this order (docs/CORPUS.md gives the measurements behind each threshold):

  svg        vector file (.svg/.svgz)                                   dropped outright
  small      long side < 256 px, or short side < 192 px (banners)       dropped outright
  source     documentation screenshots (/usr/share/doc/), test data (/tests/), desktop previews
  artwork    GCompris puzzle pictures: painting reproductions (paintings/, babyshapes/, Van Gogh in
             details/) and babyshapes' photo with drawn shapes pasted on
  alpha      > 0.1 % of the pixels are (partly) transparent             cut-outs, icons, logos
  flat       > 80 % of the pixels have no grey step > 1 to their right/lower neighbour
  texture    < 4 % of the pixels have a grey step > 8                   smooth renders, gradients
  colours    < 0.03 distinct RGB colours per pixel (colour images), < 96 grey levels (grey images)
  synthetic  at full resolution >= 88 % of the pixels are smooth (central grey difference <= 6)
             AND the noise there is < 0.6 grey levels AND colour edges are strong
             (chroma/luma gradient ratio on the strongest 10 % of edges > 0.76): noise-free
             chromatic renders
  review     named in REVIEW below after looking at contact sheets: renders and digital art
             that the statistics above cannot tell from photographs (docs/CORPUS.md lists them)

Statistics other than `synthetic` are taken on the picture area-averaged to a long side of at most
512 px (grey = 0.299 R + 0.587 G + 0.114 B on 0..255); `synthetic` on the central 1024x1024 crop at
native resolution. Kept pictures are de-duplicated (normalised 16x16 grey thumbnails, mean absolute
difference < 0.20, comparing the narrower picture with 9 windows of the wider one so crops to another
aspect ratio match too; the largest source is kept; the opencv-doc photos always win), stored with
the long side <= 1600 px (ImageMagick -scale: area averaging) as JPEG quality 95 (4:4:4) under
<dest>/train/<package>/<name>.jpg, and ~8 % of them (sha1("<package>/<name>") < 0.08 * 2^32 on the
first 8 hex digits) under <dest>/val/<package>/. The opencv-doc photos of data/photos keep their split.
"""
import argparse
import fnmatch
import hashlib
import os
import random
import re
import shutil
import struct
import subprocess
import sys
import zlib

import numpy as np

CONVERT = '/usr/bin/convert'
IDENTIFY = '/usr/bin/identify'
MONTAGE = '/usr/bin/montage'
IMAGE_EXT = ('.jpg', '.jpeg', '.png', '.webp', '.tif', '.tiff', '.bmp')
VECTOR_EXT = ('.svg', '.svgz')
ANALYSIS = 512        # long side of the analysis picture
NATIVE_CROP = 1024    # side of the native-resolution crop used by `synthetic`
MAX_SIDE = 1600       # long side of a stored photo
VAL_SHARE = 0.08
DUP_MAD = 0.20

RULES = ('svg', 'small', 'source', 'artwork', 'alpha', 'flat', 'texture', 'colours', 'synthetic', 'review')
T = dict(min_long=256, min_short=192, alpha=0.001, flat=0.80, tex=0.04, distinct=0.03, grey_levels=96,
         grey_sat=0.03, smooth=0.88, snoise=0.6, chroma=0.76)

SOURCE_PATTERNS = ('/usr/share/doc/', '/tests/', 'preview', 'screenshot')
ARTWORK_PATTERNS = (r'/activities/paintings/', r'/activities/babyshapes/',
                    r'/activities/details/resource/image/.*(Van_?Gogh|Gogh4|PereTanguy|Eglise_dAuvers)')

# Dropped after visual review of the contact sheets (package -> {basename of the source: reason}).
# These passed every statistic above; see docs/CORPUS.md for their numbers.
REVIEW = {
    'gnome-backgrounds': {n: 'rendered pattern' for n in (
        'grid-d.webp', 'grid-l.webp', 'licorice-d.webp', 'licorice-l.webp', 'pixels-d.webp', 'pixels-l.webp',
        'truchet-d.webp', 'truchet-l.webp')},
    'mate-backgrounds': {'Elephants.jpg': 'digital painting', 'Elephants_3840x2160.jpg': 'digital painting',
                         'Elephants_5640x3172.jpg': 'digital painting', 'Float-into-MATE.png': 'render'},
    'lxde-common': {'lxde_blue.jpg': 'render', 'lxde_green.jpg': 'render'},
    'lomiri-wallpapers-20.04': {'Infinite-Sea_by_Aury88.jpg': 'digital art'},
    'plasma-workspace-wallpapers': {'Autumn': 'drawing', 'Canopee': 'render', 'MilkyWay': 'render',
                                    'Patak': 'render', 'SafeLanding': 'drawing', 'Shell': 'render'},
    'ukui-wallpapers': {'2004default.jpg': 'render', 'string.jpg': 'render'},
    'python3-skimage': {'bw_text.png': 'rendered text'},
}


def log(msg):
    print('[corpus] ' + msg, flush=True)


# ----------------------------------------------------------------------------------------------
# Qt resource bundles (GCompris ships its pictures inside .rcc files)

def rcc_entries(path):
    """Yields (name, bytes) of the files inside a Qt binary resource (.rcc, format versions 1-3)."""
    b = open(path, 'rb').read()
    if b[:4] != b'qres':
        return
    ver, tree, data, names = struct.unpack('>IIII', b[4:20])
    node = 22 if ver >= 2 else 14

    def name(off):
        n, = struct.unpack('>H', b[names + off:names + off + 2])
        return b[names + off + 6:names + off + 6 + 2 * n].decode('utf-16-be')

    stack = [(0, '')]
    while stack:
        i, prefix = stack.pop()
        p = tree + i * node
        noff, flags = struct.unpack('>IH', b[p:p + 6])
        nm = name(noff) if i else ''
        if flags & 2:  # directory
            count, first = struct.unpack('>II', b[p + 6:p + 14])
            for c in range(first, first + count):
                stack.append((c, prefix + nm + '/' if i else ''))
            continue
        doff, = struct.unpack('>I', b[p + 10:p + 14])
        size, = struct.unpack('>I', b[data + doff:data + doff + 4])
        raw = b[data + doff + 4:data + doff + 4 + size]
        if flags & 1:
            raw = zlib.decompress(raw[4:])  # qCompress: 4-byte length, then zlib
        elif flags & 4:
            raw = subprocess.run(['zstd', '-dcq'], input=raw, capture_output=True, check=True).stdout
        yield prefix + nm, raw


# ----------------------------------------------------------------------------------------------
# Licences from debian/copyright

class Copyright:
    """Per-file licence from a package's /usr/share/doc/<pkg>/copyright.

    Machine-readable (DEP-5) files: the paragraph whose Files: pattern matches the file most
    specifically (most literal characters; later paragraphs win ties), ignoring the extension when
    both have one (GCompris converts its .jpg/.png sources to .webp). Where the source-tree path is
    known (GCompris: the path inside the .rcc minus "gcompris/") patterns are matched against it;
    otherwise against every trailing part of the installed path, or by basename when the pattern
    names one file. Other copyright files: a fixed summary (FREE_TEXT). Returns (licence, basis):
    basis is the Files: pattern that matched ("*" = the package's default paragraph)."""

    FREE_TEXT = {
        'gnome-backgrounds': 'GPL-2+ / CC-BY-SA-3.0 (copyright file is not machine-readable)',
    }

    def __init__(self, package, path):
        self.package = package
        self.text = open(path, encoding='utf-8', errors='replace').read() if path and os.path.exists(path) else ''
        self.dep5 = bool(re.match(r'\s*Format:', self.text))
        self.paras = []
        if self.dep5:
            for para in re.split(r'\n\s*\n', self.text):
                files = re.search(r'^Files:(.*(?:\n[ \t].*)*)', para, re.M)
                lic = re.search(r'^License:[ \t]*(.*)', para, re.M)
                if files and lic:
                    self.paras.append((files.group(1).split(), lic.group(1).strip()))

    @staticmethod
    def _fn(path, pattern):
        if fnmatch.fnmatchcase(path, pattern):
            return True
        pstem, pext = os.path.splitext(pattern)
        stem, ext = os.path.splitext(path)
        return bool(pext and ext and '*' not in pext and '?' not in pext and fnmatch.fnmatchcase(stem, pstem))

    @classmethod
    def _match(cls, pattern, path, anchored):
        """Specificity (literal characters) if pattern matches path, else -1."""
        literal = len(re.sub(r'[*?]', '', pattern))
        if anchored:
            return literal if cls._fn(path, pattern) else -1
        parts = path.strip('/').split('/')
        if any(cls._fn('/'.join(parts[k:]), pattern) for k in range(len(parts))):
            return literal
        base = pattern.rsplit('/', 1)[-1]
        if not re.search(r'[*?]', base) and os.path.splitext(parts[-1])[0] == os.path.splitext(base)[0]:
            return len(base)
        return -1

    def licence(self, path, anchored=False):
        if not self.text:
            return 'unknown (no copyright file)', '-'
        if not self.dep5:
            return self.FREE_TEXT.get(self.package, 'see COPYRIGHT/%s (not machine-readable)' % self.package), '-'
        best, best_lic, basis = -1, 'unknown', '-'
        for files, lic in self.paras:
            for pattern in files:
                s = self._match(pattern, path, anchored)
                if s >= 0 and s >= best:
                    best, best_lic, basis = s, lic, pattern
        return best_lic, basis


# ----------------------------------------------------------------------------------------------
# Measurements

def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, check=True, **kw)


def identify(path):
    out = run([IDENTIFY, '-ping', '-format', '%w %h\n', path + '[0]']).stdout.split(b'\n')[0]
    w, h = out.split()
    return int(w), int(h)


def read_raw(path, args, channels):
    p = run([CONVERT, path + '[0]', '-colorspace', 'sRGB'] + args +
            ['-depth', '8', '-format', '%w %h\n', '-write', 'info:-', ('rgba:-' if channels == 4 else 'rgb:-')])
    nl = p.stdout.index(b'\n')
    w, h = map(int, p.stdout[:nl].split())
    return np.frombuffer(p.stdout[nl + 1:], np.uint8)[:w * h * channels].reshape(h, w, channels)


LUMA = np.array([0.299, 0.587, 0.114], np.float32)


def analysis_stats(path):
    """Statistics on the picture area-averaged to a long side <= ANALYSIS. Returns (stats, grey)."""
    img = read_raw(path, ['-alpha', 'on', '-scale', '%dx%d>' % (ANALYSIS, ANALYSIS)], 4)
    rgb = img[..., :3].astype(np.float32)
    y = rgb @ LUMA
    s = {'alpha': float((img[..., 3] < 250).mean())}
    g = np.maximum(np.abs(np.diff(y, axis=1))[:-1, :], np.abs(np.diff(y, axis=0))[:, :-1])
    s['flat'] = float((g <= 1.0).mean())
    s['tex'] = float((g > 8.0).mean())
    q = (img[..., 0].astype(np.uint32) << 16) | (img[..., 1].astype(np.uint32) << 8) | img[..., 2]
    s['distinct'] = float(len(np.unique(q)) / q.size)
    mx, mn = rgb.max(-1), rgb.min(-1)
    s['sat'] = float(np.where(mx > 0, (mx - mn) / np.maximum(mx, 1), 0).mean())
    s['grey_levels'] = int(len(np.unique(np.rint(y).astype(np.uint8))))
    cb = rgb @ np.array([-0.1687, -0.3313, 0.5], np.float32)
    cr = rgb @ np.array([0.5, -0.4187, -0.0813], np.float32)

    def grad(c):
        return np.abs(np.diff(c, axis=1))[:-1, :] + np.abs(np.diff(c, axis=0))[:, :-1]

    gy, gc = grad(y), grad(cb) + grad(cr)
    tot = gy + gc
    edge = tot >= max(float(np.percentile(tot, 90)), 1e-6)
    s['chroma'] = float(gc[edge].sum() / max(float(gy[edge].sum()), 1e-6))
    h, w = y.shape
    k = min(1.0, 128.0 / max(h, w))  # a small grey copy is enough for the duplicate search
    return s, area_resize(y, max(1, round(h * k)), max(1, round(w * k))).astype(np.float32)


KERNEL = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], np.float32)


def native_stats(path):
    """Smoothness and residual noise of the central NATIVE_CROP square at native resolution."""
    img = read_raw(path, ['-alpha', 'off', '-gravity', 'center', '-crop', '%dx%d+0+0' % (NATIVE_CROP, NATIVE_CROP),
                          '+repage'], 3).astype(np.float32)
    y = img @ LUMA
    H, W = y.shape
    if H < 3 or W < 3:
        return {'smooth': 1.0, 'snoise': 0.0}
    conv = sum(KERNEL[i, j] * y[i:H - 2 + i, j:W - 2 + j] for i in range(3) for j in range(3))
    g = np.maximum(np.abs(y[1:-1, 2:] - y[1:-1, :-2]), np.abs(y[2:, 1:-1] - y[:-2, 1:-1]))
    sm = g <= 6
    noise = float(np.sqrt(np.pi / 2) * np.abs(conv[sm]).mean() / 6) if sm.any() else 0.0  # Immerkaer
    return {'smooth': float(sm.mean()), 'snoise': noise}


# ----------------------------------------------------------------------------------------------
# Duplicates

def area_resize(y, oh, ow):
    h, w = y.shape
    ri = np.minimum(np.linspace(0, h, oh + 1).round().astype(int), h - 1 if h < oh else h)
    ci = np.minimum(np.linspace(0, w, ow + 1).round().astype(int), w - 1 if w < ow else w)
    s = np.add.reduceat(np.add.reduceat(y, ri[:-1], axis=0), ci[:-1], axis=1)
    return s / np.outer(np.maximum(np.diff(ri), 1), np.maximum(np.diff(ci), 1))


def signature(y):
    t = area_resize(y, 16, 16).ravel()
    t = t - t.mean()
    sd = t.std()
    return (t / sd if sd > 1e-6 else t).astype(np.float32)


def windows(y, aspect, n=9):
    """Signatures of n windows with width/height = aspect slid across the longer free axis of y."""
    h, w = y.shape
    out = []
    if w / h > aspect:
        cw = max(1, int(round(h * aspect)))
        for x in np.linspace(0, w - cw, n).round().astype(int):
            out.append(signature(y[:, x:x + cw]))
    else:
        ch = max(1, int(round(w / aspect)))
        for z in np.linspace(0, h - ch, n).round().astype(int):
            out.append(signature(y[z:z + ch, :]))
    return np.array(out)


def duplicate_distances(greys):
    """Symmetric matrix of min normalised-thumbnail MAD between pictures (windows for other aspects)."""
    n = len(greys)
    S = np.array([signature(g) for g in greys])
    D = np.empty((n, n), np.float32)
    for i in range(n):
        D[i] = np.abs(S - S[i]).mean(1)
    logs = np.array([np.log(g.shape[1] / g.shape[0]) for g in greys])
    buckets = {}
    for i, a in enumerate(logs):
        buckets.setdefault(round(float(a) / 0.05) * 0.05, []).append(i)
    for key, members in buckets.items():
        Sm = S[members]
        mlogs = logs[members]
        for j in range(n):
            if np.all(np.abs(mlogs - logs[j]) < 0.03):
                continue
            C = windows(greys[j], float(np.exp(key)))
            d = np.abs(Sm[:, None, :] - C[None]).mean(2).min(1)
            for k, i in enumerate(members):
                if d[k] < D[i, j]:
                    D[i, j] = D[j, i] = d[k]
    np.fill_diagonal(D, np.inf)
    return D


# ----------------------------------------------------------------------------------------------

def review_reason(package, source):
    table = REVIEW.get(package, {})
    parts = source.split('/')
    for key, reason in table.items():
        if parts[-1] == key or key in parts[:-1]:
            return reason
    return None


def classify(c):
    """Fills c['rule'] (first failed rule or None) and the statistics it needed."""
    src = c['source']
    if src.lower().endswith(VECTOR_EXT):
        return 'svg'
    try:
        c['src_w'], c['src_h'] = identify(c['path'])
    except subprocess.CalledProcessError:
        return 'small'  # unreadable: counted with the outright drops
    if max(c['src_w'], c['src_h']) < T['min_long'] or min(c['src_w'], c['src_h']) < T['min_short']:
        return 'small'
    if any(p in src for p in SOURCE_PATTERNS):
        return 'source'
    if any(re.search(p, src) for p in ARTWORK_PATTERNS):
        return 'artwork'
    s, grey = analysis_stats(c['path'])
    c.update(s)
    c['grey'] = grey
    if s['alpha'] > T['alpha']:
        return 'alpha'
    if s['flat'] > T['flat']:
        return 'flat'
    if s['tex'] < T['tex']:
        return 'texture'
    if s['sat'] >= T['grey_sat'] and s['distinct'] < T['distinct']:
        return 'colours'
    if s['sat'] < T['grey_sat'] and s['grey_levels'] < T['grey_levels']:
        return 'colours'
    c.update(native_stats(c['path']))
    if c['smooth'] >= T['smooth'] and c['snoise'] < T['snoise'] and s['chroma'] > T['chroma']:
        return 'synthetic'
    r = review_reason(c['package'], src)
    if r:
        c['review'] = r
        return 'review'
    return None


def candidates(packages, work):
    """Yields candidate dicts: package, version, source (path inside the package), path (on disk)."""
    for pkg, version, root in packages:
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames.sort()
            for fn in sorted(filenames):
                full = os.path.join(dirpath, fn)
                if os.path.islink(full) or not os.path.isfile(full):
                    continue
                inside = '/' + os.path.relpath(full, root)
                low = fn.lower()
                if low.endswith('.rcc'):
                    outdir = os.path.join(work, 'rcc', pkg, fn)
                    for name, data in rcc_entries(full):
                        if name.lower().endswith(IMAGE_EXT + VECTOR_EXT):
                            p = os.path.join(outdir, name)
                            os.makedirs(os.path.dirname(p), exist_ok=True)
                            with open(p, 'wb') as f:
                                f.write(data)
                            yield dict(package=pkg, version=version, source=inside + ':' + name, path=p)
                elif low.endswith(IMAGE_EXT + VECTOR_EXT):
                    yield dict(package=pkg, version=version, source=inside, path=full)


def photo_name(c, taken):
    """<name> for the stored file: the source's stem, made unique within the package with parent dirs."""
    parts = [p for p in re.split(r'[/:]', c['source']) if p]
    stem = os.path.splitext(parts[-1])[0]
    dirs = [p for p in parts[:-1] if p not in ('usr', 'share', 'lib', 'python3', 'dist-packages', 'contents',
                                                'images', 'resource', 'backgrounds', 'wallpapers', 'data',
                                                'src', 'activities', 'gcompris', 'rcc', 'gcompris-qt')
            and not p.endswith('.rcc')]
    if re.fullmatch(r'\d+x\d+', stem) and dirs:  # plasma: wallpapers/<Name>/contents/images/<WxH>.jpg
        stem = dirs.pop()
    name = stem
    while name in taken and dirs:
        name = dirs.pop() + '_' + name
    base, k = name, 2
    while name in taken:
        name = '%s_%d' % (base, k)
        k += 1
    name = re.sub(r'[^A-Za-z0-9._-]+', '_', name)
    taken.add(name)
    return name


def is_val(package, name):
    return int(hashlib.sha1(('%s/%s' % (package, name)).encode()).hexdigest()[:8], 16) < VAL_SHARE * 2 ** 32


def fmt(v):
    return '%.4f' % v if isinstance(v, float) else str(v)


STAT_COLS = ('alpha', 'flat', 'tex', 'distinct', 'grey_levels', 'sat', 'chroma', 'smooth', 'snoise')


def contact_sheet(paths, out, title):
    if not paths:
        return
    args = [MONTAGE] + [p + '[0]' for p in paths] + ['-thumbnail', '160x120', '-background', 'gray40',
                                                     '-geometry', '160x120+2+2', '-tile', '10x', out]
    subprocess.run(args, capture_output=True)
    log('contact sheet (%s): %s' % (title, out))


def build(a):
    packages = [l.rstrip('\n').split('\t') for l in open(a.packages) if l.strip()]
    dest = a.dest
    for sub in ('train', 'val', 'COPYRIGHT', 'review'):
        os.makedirs(os.path.join(dest, sub), exist_ok=True)
    rights = {}
    for pkg, version, root in packages:
        cp = os.path.join(root, 'usr/share/doc', pkg, 'copyright')
        rights[pkg] = Copyright(pkg, cp)
        if os.path.exists(cp):
            shutil.copy(cp, os.path.join(dest, 'COPYRIGHT', pkg))

    counts = {}
    kept, dropped = [], []
    n = 0
    for c in candidates(packages, a.work):
        n += 1
        c['rule'] = classify(c)
        pc = counts.setdefault(c['package'], dict(candidates=0, duplicate=0, train=0, val=0, **{r: 0 for r in RULES}))
        pc['candidates'] += 1
        if c['rule']:
            pc[c['rule']] += 1
            c.pop('grey', None)
            dropped.append(c)
        else:
            kept.append(c)
        if n % 50 == 0:
            log('measured %d candidates, %d pass the rules so far' % (n, len(kept)))
    log('measured %d candidates from %d packages: %d pass the rules' % (n, len(packages), len(kept)))

    # opencv-doc photos of data/photos take part in de-duplication and always win.
    fixed = []
    man = os.path.join(a.photos, 'MANIFEST.tsv')
    for line in open(man).read().splitlines()[1:]:
        f = line.split('\t')
        p = os.path.join(a.photos, f[0])
        s, grey = analysis_stats(p)
        w, h = identify(p)
        fixed.append(dict(package='opencv-doc', file=f[0], split=f[1], source=f[2], version=f[3].split(' ', 1)[1],
                          licence=f[4], path=p, grey=grey, src_w=w, src_h=h, fixed=True, **s))
    pool = fixed + kept
    log('looking for duplicates among %d photos (%d from data/photos)' % (len(pool), len(fixed)))
    D = duplicate_distances([c['grey'] for c in pool])
    parent = list(range(len(pool)))

    def root(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, j in zip(*np.where(D < DUP_MAD)):
        if i < j:
            parent[root(i)] = root(j)
    groups = {}
    for i in range(len(pool)):
        groups.setdefault(root(i), []).append(i)
    winners = []
    for members in groups.values():
        members.sort(key=lambda i: (not pool[i].get('fixed', False), -pool[i]['src_w'] * pool[i]['src_h'],
                                    pool[i]['package'], pool[i]['source']))
        # The data/photos files are all kept (their split is fixed); otherwise the largest source wins.
        nwin = max(1, sum(1 for i in members if pool[i].get('fixed')))
        w = pool[members[0]]
        for i in members[:nwin]:
            pool[i]['duplicates'] = []
            winners.append(pool[i])
        for i in members[nwin:]:
            d = pool[i]
            d['rule'] = 'duplicate'
            d['dup_of'] = '%s:%s' % (w['package'], w['source'])
            d['dup_mad'] = float(D[members[0], i])
            w['duplicates'].append(d)
            counts[d['package']]['duplicate'] += 1
            dropped.append(d)
    nd = sum(len(w['duplicates']) for w in winners)
    near = D[np.isfinite(D)]
    log('%d duplicates removed (threshold %.2f; closest non-duplicate pair %.3f)' % (
        nd, DUP_MAD, float(near[near >= DUP_MAD].min()) if (near >= DUP_MAD).any() else float('nan')))

    # Store.
    rows = []
    taken = {}
    stored = 0
    for c in sorted(winners, key=lambda c: (c['package'], c['source'])):
        if c.get('fixed'):
            out = os.path.join(dest, c['split'], 'opencv-doc', os.path.basename(c['file']))
            os.makedirs(os.path.dirname(out), exist_ok=True)
            shutil.copy(c['path'], out)
            c['stored_w'], c['stored_h'] = c['src_w'], c['src_h']
            counts.setdefault('opencv-doc', dict(candidates=0, duplicate=0, train=0, val=0, **{r: 0 for r in RULES}))
            counts['opencv-doc']['candidates'] += 1
            counts['opencv-doc'][c['split']] += 1
        else:
            name = photo_name(c, taken.setdefault(c['package'], set()))
            c['split'] = 'val' if is_val(c['package'], name) else 'train'
            out = os.path.join(dest, c['split'], c['package'], name + '.jpg')
            os.makedirs(os.path.dirname(out), exist_ok=True)
            run([CONVERT, c['path'] + '[0]', '-auto-orient', '-colorspace', 'sRGB', '-background', 'white',
                 '-alpha', 'remove', '-alpha', 'off', '-scale', '%dx%d>' % (MAX_SIDE, MAX_SIDE), '-depth', '8',
                 '-strip', '-sampling-factor', '1x1', '-quality', '95', out])
            c['stored_w'], c['stored_h'] = identify(out)
            src = c['source']
            if '.rcc:gcompris/' in src:  # GCompris: the source-tree path is known
                c['licence'], c['licence_basis'] = rights[c['package']].licence(src.split('.rcc:gcompris/', 1)[1], True)
            else:
                c['licence'], c['licence_basis'] = rights[c['package']].licence(src)
            counts[c['package']][c['split']] += 1
            stored += 1
            if stored % 50 == 0:
                log('stored %d photos' % stored)
        c['file'] = os.path.relpath(out, dest)
        rows.append(c)

    cols = ('file', 'split', 'width', 'height', 'source_width', 'source_height', 'source', 'package', 'version',
            'licence', 'licence_basis') + STAT_COLS + ('duplicates',)
    with open(os.path.join(dest, 'MANIFEST.tsv.tmp'), 'w') as f:
        f.write('\t'.join(cols) + '\n')
        for c in sorted(rows, key=lambda c: c['file']):
            dups = ';'.join('%s:%s' % (d['package'], d['source']) for d in c['duplicates'])
            vals = [c['file'], c['split'], c['stored_w'], c['stored_h'], c['src_w'], c['src_h'], c['source'],
                    c['package'], c['version'], c['licence'], c.get('licence_basis', '-')] + \
                [c.get(k, '') for k in STAT_COLS] + [dups or '-']
            f.write('\t'.join(fmt(v) for v in vals) + '\n')
    with open(os.path.join(dest, 'DROPPED.tsv'), 'w') as f:
        f.write('\t'.join(('package', 'source', 'rule', 'source_width', 'source_height') + STAT_COLS +
                          ('note',)) + '\n')
        for c in sorted(dropped, key=lambda c: (c['package'], c['source'])):
            note = c.get('review') or (('duplicate of %s (MAD %.3f)' % (c['dup_of'], c['dup_mad'])) if c.get('dup_of') else '')
            vals = [c['package'], c['source'], c['rule'], c.get('src_w', ''), c.get('src_h', '')] + \
                   [c.get(k, '') for k in STAT_COLS] + [note or '-']
            f.write('\t'.join(fmt(v) for v in vals) + '\n')

    if a.sheets:
        rng = random.Random(0)
        kp = [os.path.join(dest, c['file']) for c in rows]
        contact_sheet(sorted(rng.sample(kp, min(80, len(kp)))), os.path.join(dest, 'review', 'kept_sample.png'), 'kept')
        dp = [c for c in dropped if c['rule'] not in ('svg', 'small')]
        for rule in ('alpha', 'flat', 'texture', 'colours', 'synthetic', 'review', 'artwork', 'duplicate'):
            sel = [c['path'] for c in dp if c['rule'] == rule]
            contact_sheet(sorted(rng.sample(sel, min(40, len(sel)))),
                          os.path.join(dest, 'review', 'dropped_%s.png' % rule), 'dropped: ' + rule)

    # Summary.
    hdr = ['package', 'cand.'] + list(RULES) + ['dup', 'train', 'val', 'kept']
    lines = ['\t'.join(hdr)]
    tot = {k: 0 for k in hdr[1:]}
    for pkg in sorted(counts):
        pc = counts[pkg]
        vals = [pc['candidates']] + [pc[r] for r in RULES] + [pc['duplicate'], pc['train'], pc['val'],
                                                              pc['train'] + pc['val']]
        for k, v in zip(hdr[1:], vals):
            tot[k] += v
        lines.append('\t'.join([pkg] + [str(v) for v in vals]))
    lines.append('\t'.join(['TOTAL'] + [str(tot[k]) for k in hdr[1:]]))
    pixels = sum(c['stored_w'] * c['stored_h'] for c in rows)
    with open(os.path.join(dest, 'SUMMARY.tsv'), 'w') as f:
        f.write('\n'.join(lines) + '\n')
    widths = [max(len(l.split('\t')[k]) for l in lines) for k in range(len(hdr))]
    print('\n'.join('  '.join(x.rjust(w) if k else x.ljust(w) for k, (x, w) in enumerate(zip(l.split('\t'), widths)))
                    for l in lines))
    log('kept %d photos (%d train, %d val), %.1f Mpixel stored' % (tot['kept'], tot['train'], tot['val'], pixels / 1e6))
    os.replace(os.path.join(dest, 'MANIFEST.tsv.tmp'), os.path.join(dest, 'MANIFEST.tsv'))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest='cmd', required=True)
    b = sub.add_parser('build')
    b.add_argument('--work', required=True)
    b.add_argument('--packages', required=True)
    b.add_argument('--photos', required=True)
    b.add_argument('--dest', required=True)
    b.add_argument('--sheets', action='store_true', help='write contact sheets of kept and dropped samples')
    a = ap.parse_args()
    if a.cmd == 'build':
        build(a)


if __name__ == '__main__':
    main()
