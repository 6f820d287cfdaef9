package qr

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"image"
	"image/draw"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/healthcards/healthcards/shc"
	"golang.org/x/image/vector"
)

// Caps for DecodeSVG.
const (
	// MaxSVGBytes caps the SVG document DecodeSVG accepts. The official
	// example QR SVGs are about 16 KB.
	MaxSVGBytes = 1 << 20
	// svgLongSide is the raster size, in pixels, of the SVG's longer side
	// (whole pixels per unit when the viewBox is in modules).
	svgLongSide = 600
	// svgMaxPoints caps the path vertices of one document.
	svgMaxPoints = 1 << 20
	// svgMaxBatches caps the colour changes while painting (each costs one
	// full-canvas pass).
	svgMaxBatches = 256
	// svgMaxDepth caps element nesting.
	svgMaxDepth = 32
	// svgWorkBudget caps the rasterization work of one document, in pixel
	// steps: each edge fed to the rasterizer costs its horizontal plus
	// vertical extent in pixels (plus 2), each colour batch composited the
	// canvas area. The official example SVGs need about 0.7 M.
	svgWorkBudget = 8 << 20
	// svgClamp is how far outside the viewBox, in viewBox sizes, geometry
	// is clamped: nothing beyond it can be visible, and clamping keeps a
	// shape with coordinates like 1e308 as cheap as one the canvas size.
	svgClamp = 1
)

// DecodeSVG rasterizes a simple SVG QR image and decodes it like Decode.
//
// It understands what QR generators emit: a root <svg> with a viewBox (or
// width and height), <g> groups, and <path> (commands M, L, H, V, Z in
// absolute and relative forms) and <rect> elements painted with fill and/or
// stroke (stroke-width, butt caps) in solid colours, given as attributes or
// in style. That covers the official example SVGs (a white background path
// and one stroked path of horizontal module runs) and Code.SVG output.
// Curves, transforms and nested <svg> are refused with shc.CodeMalformedInput;
// <defs>, <clipPath>, <mask>, <text> and other elements are skipped. The
// document is capped at MaxSVGBytes and its path data at a fixed number of
// vertices.
func DecodeSVG(data []byte) (string, error) {
	return DecodeSVGContext(context.Background(), data)
}

// DecodeSVGContext is DecodeSVG that gives up, with CodeCanceled, once ctx
// is done; it checks ctx while rasterizing and before every attempt of the
// retry ladder. Rasterization work is capped by a fixed budget
// (CodeImageTooLarge when a document needs more).
func DecodeSVGContext(ctx context.Context, data []byte) (string, error) {
	if len(data) > MaxSVGBytes {
		return "", errorf(CodeImageTooLarge, nil, "SVG of %d bytes exceeds the %d-byte limit", len(data), MaxSVGBytes)
	}
	g, _, err := rasterizeSVG(ctx, data, svgWorkBudget)
	if err != nil {
		return "", err
	}
	res, err := scanGray(ctx, g)
	if err != nil {
		return "", err
	}
	return res.text, nil
}

// paint is the inherited painting state.
type paint struct {
	fill, stroke color8
	strokeWidth  float64
}

// color8 is a resolved paint: a grey level, or none.
type color8 struct {
	gray uint8
	none bool
}

type pt struct{ x, y float64 }

type svgRaster struct {
	minX, minY, scale float64
	vbW, vbH          float64 // viewBox size, for percentages
	canvas            *image.Gray
	z                 *vector.Rasterizer
	mask              *image.Alpha
	batchGray         uint8
	batchOpen         bool
	batches           int
	points            int
	// Work accounting: work is what has been fed to the rasterizer, never
	// more than budget; lo and hi bound every pixel coordinate fed.
	work, budget int64
	lo, hi       pt
	penX, penY   float32
	ctx          context.Context
	elements     int
}

func svgErr(format string, args ...any) error {
	return errorf(shc.CodeMalformedInput, nil, "SVG: "+format, args...)
}

// rasterizeSVG draws data onto a grey canvas within a work budget and
// returns the canvas and the work done.
func rasterizeSVG(ctx context.Context, data []byte, budget int64) (*image.Gray, int64, error) {
	g, r, err := rasterizeSVGRaster(ctx, data, budget)
	if r == nil {
		return g, 0, err
	}
	return g, r.work, err
}

func rasterizeSVGRaster(ctx context.Context, data []byte, budget int64) (*image.Gray, *svgRaster, error) {
	dec := xml.NewDecoder(bytes.NewReader(data))
	dec.Strict = true
	var r *svgRaster
	var stack []paint // painting state per open element that we descend into
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, r, errorf(shc.CodeMalformedInput, err, "SVG: not well-formed XML")
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if r != nil {
				if r.elements++; r.elements%64 == 0 {
					if err := ctxErr(ctx); err != nil {
						return nil, r, err
					}
				}
			}
			if hasAttr(t, "transform") {
				return nil, r, svgErr("transforms are not supported")
			}
			if r == nil {
				if t.Name.Local != "svg" {
					return nil, r, svgErr("root element is <%s>, want <svg>", t.Name.Local)
				}
				var err error
				if r, err = newSVGRaster(t, ctx, budget); err != nil {
					return nil, nil, err
				}
				p, err := inherit(paint{fill: color8{gray: 0}, stroke: color8{none: true}, strokeWidth: 1}, t)
				if err != nil {
					return nil, r, err
				}
				stack = append(stack, p)
				continue
			}
			if len(stack) == 0 {
				return nil, r, svgErr("content after the root element")
			}
			if len(stack) >= svgMaxDepth {
				return nil, r, svgErr("elements nested deeper than %d", svgMaxDepth)
			}
			p, err := inherit(stack[len(stack)-1], t)
			if err != nil {
				return nil, r, err
			}
			switch t.Name.Local {
			case "g", "a":
				stack = append(stack, p)
				continue
			case "svg":
				return nil, r, svgErr("nested <svg> is not supported")
			case "path":
				subs, err := parsePathData(attr(t, "d"), &r.points)
				if err != nil {
					return nil, r, err
				}
				if err := r.draw(subs, p); err != nil {
					return nil, r, err
				}
			case "rect":
				subs, err := r.rectPath(t)
				if err != nil {
					return nil, r, err
				}
				if err := r.draw(subs, p); err != nil {
					return nil, r, err
				}
			}
			// Leaf or skipped element (defs, clipPath, mask, text, ...):
			// consume its subtree without drawing it.
			if err := dec.Skip(); err != nil {
				return nil, r, errorf(shc.CodeMalformedInput, err, "SVG: not well-formed XML")
			}
		case xml.EndElement:
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
		}
	}
	if r == nil {
		return nil, r, svgErr("no <svg> element")
	}
	if err := r.flush(); err != nil {
		return nil, r, err
	}
	return r.canvas, r, nil
}

func attr(t xml.StartElement, name string) string {
	for _, a := range t.Attr {
		if a.Name.Local == name && a.Name.Space == "" {
			return a.Value
		}
	}
	return ""
}

func hasAttr(t xml.StartElement, name string) bool {
	for _, a := range t.Attr {
		if a.Name.Local == name && a.Name.Space == "" {
			return true
		}
	}
	return false
}

// numbers parses whitespace/comma separated numbers.
func numbers(s string) ([]float64, error) {
	f := strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == ',' || r == '\t' || r == '\n' || r == '\r' })
	out := make([]float64, 0, len(f))
	for _, x := range f {
		v, err := strconv.ParseFloat(x, 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, svgErr("bad number %q", x)
		}
		out = append(out, v)
	}
	return out, nil
}

// length parses a plain or px length ("97", "97px").
func length(s string) (float64, bool) {
	s = strings.TrimSuffix(strings.TrimSpace(s), "px")
	v, err := strconv.ParseFloat(s, 64)
	return v, err == nil && v > 0 && !math.IsInf(v, 0)
}

func newSVGRaster(t xml.StartElement, ctx context.Context, budget int64) (*svgRaster, error) {
	var minX, minY, w, h float64
	if vb := attr(t, "viewBox"); vb != "" {
		n, err := numbers(vb)
		if err != nil || len(n) != 4 {
			return nil, svgErr("bad viewBox %q", vb)
		}
		minX, minY, w, h = n[0], n[1], n[2], n[3]
	} else {
		var ok1, ok2 bool
		w, ok1 = length(attr(t, "width"))
		h, ok2 = length(attr(t, "height"))
		if !ok1 || !ok2 {
			return nil, svgErr("no viewBox and no numeric width/height")
		}
	}
	if !(w > 0 && h > 0 && w <= 1e6 && h <= 1e6) {
		return nil, svgErr("viewBox size %g×%g out of range", w, h)
	}
	long := max(w, h)
	scale := svgLongSide / long
	if long <= svgLongSide {
		scale = math.Floor(scale) // whole pixels per unit: crisp modules
	}
	pw, ph := max(1, int(math.Ceil(w*scale))), max(1, int(math.Ceil(h*scale)))
	if area := int64(pw) * int64(ph); 2*area > budget {
		return nil, errorf(CodeImageTooLarge, nil, "SVG canvas of %d×%d pixels exceeds the rasterization budget", pw, ph)
	}
	canvas := newGray(pw, ph)
	for i := range canvas.Pix {
		canvas.Pix[i] = 255 // transparent background reads as white
	}
	z := vector.NewRasterizer(pw, ph)
	z.DrawOp = draw.Src
	fw, fh := float64(pw), float64(ph)
	return &svgRaster{minX: minX, minY: minY, vbW: w, vbH: h, scale: scale, canvas: canvas, z: z, points: svgMaxPoints,
		mask: image.NewAlpha(image.Rect(0, 0, pw, ph)), ctx: ctx, budget: budget, work: int64(pw) * int64(ph),
		lo: pt{-svgClamp * fw, -svgClamp * fh}, hi: pt{(1 + svgClamp) * fw, (1 + svgClamp) * fh}}, nil
}

// inherit applies fill, stroke and stroke-width from attributes and from a
// style attribute (which wins) on top of the parent's state.
func inherit(p paint, t xml.StartElement) (paint, error) {
	set := func(name, v string) error {
		v = strings.TrimSpace(v)
		switch name {
		case "fill", "stroke":
			c, err := parseColor(v)
			if err != nil {
				return err
			}
			if name == "fill" {
				p.fill = c
			} else {
				p.stroke = c
			}
		case "stroke-width":
			w, ok := length(v)
			if !ok && v != "0" {
				return svgErr("bad stroke-width %q", v)
			}
			p.strokeWidth = w
		}
		return nil
	}
	for _, name := range []string{"fill", "stroke", "stroke-width"} {
		if hasAttr(t, name) {
			if err := set(name, attr(t, name)); err != nil {
				return p, err
			}
		}
	}
	for _, decl := range strings.Split(attr(t, "style"), ";") {
		k, v, ok := strings.Cut(decl, ":")
		if !ok {
			continue
		}
		if err := set(strings.TrimSpace(k), v); err != nil {
			return p, err
		}
	}
	return p, nil
}

// parseColor resolves a solid SVG colour to a grey level. Unknown colour
// names count as dark (QR generators draw dark modules).
func parseColor(v string) (color8, error) {
	v = strings.ToLower(v)
	switch v {
	case "none", "transparent":
		return color8{none: true}, nil
	case "white":
		return color8{gray: 255}, nil
	case "black", "currentcolor", "":
		return color8{gray: 0}, nil
	}
	lum := func(r, g, b float64) color8 {
		return color8{gray: uint8(math.Round(min(255, max(0, 0.299*r+0.587*g+0.114*b))))}
	}
	if strings.HasPrefix(v, "#") {
		hex := v[1:]
		if len(hex) == 3 {
			hex = string([]byte{hex[0], hex[0], hex[1], hex[1], hex[2], hex[2]})
		}
		if len(hex) != 6 {
			return color8{}, svgErr("bad colour %q", v)
		}
		n, err := strconv.ParseUint(hex, 16, 32)
		if err != nil {
			return color8{}, svgErr("bad colour %q", v)
		}
		return lum(float64(n>>16), float64(n>>8&0xff), float64(n&0xff)), nil
	}
	if inner, ok := strings.CutPrefix(v, "rgb("); ok && strings.HasSuffix(inner, ")") {
		n, err := numbers(strings.TrimSuffix(inner, ")"))
		if err != nil || len(n) != 3 {
			return color8{}, svgErr("bad colour %q", v)
		}
		return lum(n[0], n[1], n[2]), nil
	}
	return color8{gray: 0}, nil
}

// subpath is a polyline; closed subpaths have their first point repeated
// implicitly.
type subpath struct {
	pts    []pt
	closed bool
}

// rectPath turns a <rect> into a closed subpath; percentages are of the
// viewBox width (x, width) or height (y, height). Rounded corners (rx, ry)
// are ignored.
func (r *svgRaster) rectPath(t xml.StartElement) ([]subpath, error) {
	get := func(name string, ref float64) (float64, error) {
		s := strings.TrimSpace(attr(t, name))
		if s == "" {
			return 0, nil
		}
		scale := 1.0
		if p, ok := strings.CutSuffix(s, "%"); ok {
			s, scale = p, ref/100
		} else {
			s = strings.TrimSuffix(s, "px")
		}
		v, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			return 0, svgErr("bad rect %s %q", name, attr(t, name))
		}
		return v * scale, nil
	}
	x, err1 := get("x", r.vbW)
	y, err2 := get("y", r.vbH)
	w, err3 := get("width", r.vbW)
	h, err4 := get("height", r.vbH)
	if err := errors.Join(err1, err2, err3, err4); err != nil {
		return nil, err
	}
	if w <= 0 || h <= 0 {
		return nil, nil // not rendered
	}
	return []subpath{{pts: []pt{{x, y}, {x + w, y}, {x + w, y + h}, {x, y + h}}, closed: true}}, nil
}

// parsePathData parses the straight-line subset of SVG path data.
func parsePathData(d string, budget *int) ([]subpath, error) {
	var subs []subpath
	var cur subpath
	var pos, start pt
	var cmd byte
	i := 0
	skipSep := func() {
		for i < len(d) && (d[i] == ' ' || d[i] == ',' || d[i] == '\t' || d[i] == '\n' || d[i] == '\r') {
			i++
		}
	}
	num := func() (float64, error) {
		skipSep()
		j := i
		if j < len(d) && (d[j] == '+' || d[j] == '-') {
			j++
		}
		digits := 0
		for j < len(d) && d[j] >= '0' && d[j] <= '9' {
			j++
			digits++
		}
		if j < len(d) && d[j] == '.' {
			j++
			for j < len(d) && d[j] >= '0' && d[j] <= '9' {
				j++
				digits++
			}
		}
		if digits == 0 {
			return 0, svgErr("path data: number expected at offset %d", i)
		}
		if j < len(d) && (d[j] == 'e' || d[j] == 'E') {
			k := j + 1
			if k < len(d) && (d[k] == '+' || d[k] == '-') {
				k++
			}
			if k < len(d) && d[k] >= '0' && d[k] <= '9' {
				for k < len(d) && d[k] >= '0' && d[k] <= '9' {
					k++
				}
				j = k
			}
		}
		v, err := strconv.ParseFloat(d[i:j], 64)
		if err != nil || math.IsInf(v, 0) || math.Abs(v) > 1e7 {
			return 0, svgErr("path data: bad number %q", d[i:j])
		}
		i = j
		return v, nil
	}
	endSub := func() {
		if len(cur.pts) > 1 {
			subs = append(subs, cur)
		}
		cur = subpath{}
	}
	add := func(p pt) error {
		if *budget--; *budget < 0 {
			return svgErr("path data has more than %d vertices", svgMaxPoints)
		}
		if len(cur.pts) == 0 {
			cur.pts = append(cur.pts, pos)
		}
		cur.pts = append(cur.pts, p)
		pos = p
		return nil
	}
	for {
		skipSep()
		if i >= len(d) {
			break
		}
		c := d[i]
		if (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') {
			i++
			cmd = c
			if c == 'Z' || c == 'z' {
				if len(cur.pts) > 0 {
					cur.closed = true
					endSub()
				}
				pos = start
				continue
			}
		} else if cmd == 0 || cmd == 'Z' || cmd == 'z' {
			return nil, svgErr("path data: number without a command at offset %d", i)
		}
		// One set of arguments for cmd (implicit repetition loops here).
		rel := cmd >= 'a'
		var o pt
		if rel {
			o = pos
		}
		switch cmd | 0x20 {
		case 'm':
			x, err := num()
			if err != nil {
				return nil, err
			}
			y, err := num()
			if err != nil {
				return nil, err
			}
			endSub()
			pos = pt{o.x + x, o.y + y}
			start = pos
			// Further pairs after M/m are implicit L/l.
			if rel {
				cmd = 'l'
			} else {
				cmd = 'L'
			}
		case 'l':
			x, err := num()
			if err != nil {
				return nil, err
			}
			y, err := num()
			if err != nil {
				return nil, err
			}
			if err := add(pt{o.x + x, o.y + y}); err != nil {
				return nil, err
			}
		case 'h':
			x, err := num()
			if err != nil {
				return nil, err
			}
			if err := add(pt{o.x + x, pos.y}); err != nil {
				return nil, err
			}
		case 'v':
			y, err := num()
			if err != nil {
				return nil, err
			}
			if err := add(pt{pos.x, o.y + y}); err != nil {
				return nil, err
			}
		default:
			return nil, svgErr("path command %q is not supported (only M, L, H, V, Z)", cmd)
		}
	}
	endSub()
	return subs, nil
}

// draw paints the fill, then the stroke, of a shape.
func (r *svgRaster) draw(subs []subpath, p paint) error {
	if !p.fill.none {
		if err := r.begin(p.fill.gray); err != nil {
			return err
		}
		for _, s := range subs {
			if len(s.pts) < 3 {
				continue
			}
			r.moveTo(s.pts[0])
			for _, q := range s.pts[1:] {
				if err := r.lineTo(q); err != nil {
					return err
				}
			}
			if err := r.lineTo(s.pts[0]); err != nil {
				return err
			}
			r.z.ClosePath()
		}
	}
	if !p.stroke.none && p.strokeWidth > 0 {
		if err := r.begin(p.stroke.gray); err != nil {
			return err
		}
		hw := p.strokeWidth / 2
		for _, s := range subs {
			pts := s.pts
			if s.closed {
				pts = append(pts[:len(pts):len(pts)], pts[0])
			}
			for k := 1; k < len(pts); k++ {
				if err := r.strokeSegment(pts[k-1], pts[k], hw); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// strokeSegment adds the butt-capped rectangle of a stroked segment, always
// with the same winding so that overlapping segments never cancel.
func (r *svgRaster) strokeSegment(a, b pt, hw float64) error {
	dx, dy := b.x-a.x, b.y-a.y
	l := math.Hypot(dx, dy)
	if l == 0 || math.IsInf(l, 0) {
		return nil
	}
	nx, ny := -dy/l*hw, dx/l*hw
	q := [4]pt{{a.x + nx, a.y + ny}, {b.x + nx, b.y + ny}, {b.x - nx, b.y - ny}, {a.x - nx, a.y - ny}}
	// Signed area via the shoelace formula; reverse to keep one winding.
	area := 0.0
	for k := 0; k < 4; k++ {
		area += q[k].x*q[(k+1)%4].y - q[(k+1)%4].x*q[k].y
	}
	if area < 0 {
		q[1], q[3] = q[3], q[1]
	}
	r.moveTo(q[0])
	for _, p := range []pt{q[1], q[2], q[3], q[0]} {
		if err := r.lineTo(p); err != nil {
			return err
		}
	}
	r.z.ClosePath()
	return nil
}

// px maps a point in user units to canvas pixels, clamped to svgClamp
// canvas sizes around the canvas. Clamping moves only geometry that cannot
// be visible for axis-aligned shapes (all that QR generators draw); a
// slanted edge crossing the clamp box may be bent, never made costlier.
func (r *svgRaster) px(p pt) (float32, float32) {
	x := min(max((p.x-r.minX)*r.scale, r.lo.x), r.hi.x)
	y := min(max((p.y-r.minY)*r.scale, r.lo.y), r.hi.y)
	if math.IsNaN(x) || math.IsNaN(y) {
		x, y = r.lo.x, r.lo.y
	}
	return float32(x), float32(y)
}

func (r *svgRaster) moveTo(p pt) {
	r.penX, r.penY = r.px(p)
	r.z.MoveTo(r.penX, r.penY)
}

// lineTo feeds one edge to the rasterizer if the work budget allows it.
func (r *svgRaster) lineTo(p pt) error {
	x, y := r.px(p)
	cost := int64(math.Abs(float64(x-r.penX))) + int64(math.Abs(float64(y-r.penY))) + 2
	if r.work+cost > r.budget {
		return errorf(CodeImageTooLarge, nil, "SVG needs more than %d units of rasterization work", r.budget)
	}
	r.work += cost
	r.z.LineTo(x, y)
	r.penX, r.penY = x, y
	return nil
}

// begin starts (or continues) a batch of shapes painted in one grey level.
func (r *svgRaster) begin(gray uint8) error {
	if r.batchOpen && r.batchGray == gray {
		return nil
	}
	if err := r.flush(); err != nil {
		return err
	}
	if r.batches++; r.batches > svgMaxBatches {
		return svgErr("more than %d colour changes", svgMaxBatches)
	}
	r.batchOpen, r.batchGray = true, gray
	return nil
}

// flush composites the current batch onto the canvas; it costs the canvas
// area twice (rasterizing and compositing) from the work budget.
func (r *svgRaster) flush() error {
	if !r.batchOpen {
		return nil
	}
	r.batchOpen = false
	b := r.canvas.Rect
	cost := 2 * int64(b.Dx()) * int64(b.Dy())
	if r.work+cost > r.budget {
		return errorf(CodeImageTooLarge, nil, "SVG needs more than %d units of rasterization work", r.budget)
	}
	if err := ctxErr(r.ctx); err != nil {
		return err
	}
	r.work += cost
	r.z.Draw(r.mask, b, image.Opaque, image.Point{})
	c := uint32(r.batchGray)
	for i, a := range r.mask.Pix {
		if a == 0 {
			continue
		}
		d := uint32(r.canvas.Pix[i])
		r.canvas.Pix[i] = uint8((d*(255-uint32(a)) + c*uint32(a) + 127) / 255)
	}
	r.z.Reset(b.Dx(), b.Dy())
	r.z.DrawOp = draw.Src
	return nil
}
