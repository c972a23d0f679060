package infra

// A small KQL evaluator for the offline tests of the SLO alert queries.
//
// No package reachable from here executes KQL (the Kusto language service only
// parses and type-checks; the engines that run it are Azure services or .NET
// libraries), so this file runs exactly the subset the queries in
// kql/slo/ use, over rows shaped as Log Analytics stores them:
//
//   - statements: `let name = scalar;`, `let name = tabular;`, then one tabular
//     expression; `//` comments;
//   - sources: a table name, a let-bound table, `datatable(col:type, ...)[...]`,
//     `union [isfuzzy=true] t1, t2, ...` (isfuzzy skips a table that does not exist);
//   - operators: where, extend, project, summarize ... [by ...],
//     join kind=inner|leftouter (...) on col | $left.a == $right.b,
//     order by / sort by col [asc|desc], ... (several keys), take;
//   - aggregations: count(), countif(), sum(), avg(), min(), max() (of numbers
//     or of datetimes), dcount(), dcountif(), percentile(x, p), make_set(x [, n]);
//   - scalars: literals (string, verbatim @"...", number, timespan such as 1h,
//     true/false), dynamic([...]), ==, !=, <, <=, >, >=, =~, !~, in, !in,
//     contains, !contains, startswith, and, or, not(), + - * /, x["key"], x.key, and the
//     functions tostring, toint, tolong, todouble, toreal, tobool, coalesce,
//     iff/iif, case, isempty, isnotempty, isnull, isnotnull, extract, round,
//     strcat, bin, ago, now.
//
// Semantics follow the Kusto documentation where the queries depend on them:
// null compares false, arithmetic with null is null, coalesce skips null and
// empty strings, `in` is case-sensitive and `=~`/contains are not, bin floors to
// a multiple of its size from the epoch, percentile returns the nearest-rank
// value (Kusto's is a T-Digest estimate, equal to it on the small inputs here),
// a join's right column whose name is already on the left gets the suffix 1,
// order by sorts desc unless told asc, key by key, make_set returns a dynamic
// array of distinct values (in first-seen order here; Kusto leaves the order
// undefined) of at most n elements, skipping nulls and empty strings (the
// string type has no null: empty is its missing value), and tostring of a
// dynamic array or bag is its JSON text.
// Anything else is an error, never a silent guess: a query that leaves the
// subset fails its test until the evaluator learns the construct.

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// kqlTable is a result or an input: ordered columns and rows by column name.
type kqlTable struct {
	cols []string
	rows []map[string]any
}

func (t *kqlTable) addCol(c string) {
	for _, x := range t.cols {
		if x == c {
			return
		}
	}
	t.cols = append(t.cols, c)
}

// kqlEnv holds the workspace's tables and the evaluation's clock.
type kqlEnv struct {
	tables map[string]*kqlTable
	now    time.Time
}

// ---- lexer ----

type tokKind int

const (
	tEOF tokKind = iota
	tIdent
	tString
	tNumber
	tSpan
	tPunct
)

type token struct {
	kind tokKind
	text string
	num  float64
	span time.Duration
	pos  int
}

var spanUnits = map[string]time.Duration{"d": 24 * time.Hour, "h": time.Hour, "m": time.Minute, "s": time.Second, "ms": time.Millisecond}

func lexKQL(src string) ([]token, error) {
	var toks []token
	i := 0
	for i < len(src) {
		c := src[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case strings.HasPrefix(src[i:], "//"):
			for i < len(src) && src[i] != '\n' {
				i++
			}
		case c == '@' && i+1 < len(src) && (src[i+1] == '"' || src[i+1] == '\''):
			q := src[i+1]
			j := strings.IndexByte(src[i+2:], q)
			if j < 0 {
				return nil, fmt.Errorf("offset %d: unterminated verbatim string", i)
			}
			toks = append(toks, token{kind: tString, text: src[i+2 : i+2+j], pos: i})
			i += j + 3
		case c == '"' || c == '\'':
			var b strings.Builder
			j := i + 1
			for ; j < len(src) && src[j] != c; j++ {
				if src[j] == '\\' && j+1 < len(src) {
					j++
					switch src[j] {
					case 'n':
						b.WriteByte('\n')
					case 't':
						b.WriteByte('\t')
					default:
						b.WriteByte(src[j])
					}
					continue
				}
				b.WriteByte(src[j])
			}
			if j >= len(src) {
				return nil, fmt.Errorf("offset %d: unterminated string", i)
			}
			toks = append(toks, token{kind: tString, text: b.String(), pos: i})
			i = j + 1
		case c >= '0' && c <= '9':
			j := i
			for j < len(src) && (src[j] >= '0' && src[j] <= '9' || src[j] == '.') {
				j++
			}
			n, err := strconv.ParseFloat(src[i:j], 64)
			if err != nil {
				return nil, fmt.Errorf("offset %d: number %q: %w", i, src[i:j], err)
			}
			k := j
			for k < len(src) && unicode.IsLetter(rune(src[k])) {
				k++
			}
			if unit := src[j:k]; unit != "" {
				d, ok := spanUnits[unit]
				if !ok {
					return nil, fmt.Errorf("offset %d: unknown timespan unit %q", i, unit)
				}
				toks = append(toks, token{kind: tSpan, text: src[i:k], span: time.Duration(n * float64(d)), pos: i})
				i = k
				continue
			}
			toks = append(toks, token{kind: tNumber, text: src[i:j], num: n, pos: i})
			i = j
		case c == '_' || c == '$' || unicode.IsLetter(rune(c)):
			j := i + 1
			for j < len(src) && (src[j] == '_' || unicode.IsLetter(rune(src[j])) || unicode.IsDigit(rune(src[j]))) {
				j++
			}
			toks = append(toks, token{kind: tIdent, text: src[i:j], pos: i})
			i = j
		default:
			p := ""
			for _, op := range []string{"!contains", "!in", "==", "!=", "<=", ">=", "=~", "!~", "|", "(", ")", "[", "]", ",", ";", "=", "<", ">", "+", "-", "*", "/", ".", ":"} {
				if strings.HasPrefix(src[i:], op) {
					p = op
					break
				}
			}
			if p == "" {
				return nil, fmt.Errorf("offset %d: unexpected character %q", i, c)
			}
			// "!in" and "!contains" are operators only before a non-identifier character.
			if (p == "!in" || p == "!contains") && i+len(p) < len(src) && (unicode.IsLetter(rune(src[i+len(p)])) || src[i+len(p)] == '_') {
				return nil, fmt.Errorf("offset %d: unexpected %q", i, src[i:i+len(p)+1])
			}
			toks = append(toks, token{kind: tPunct, text: p, pos: i})
			i += len(p)
		}
	}
	return append(toks, token{kind: tEOF, pos: len(src)}), nil
}

// ---- AST ----

type expr interface{}

type (
	litExpr   struct{ v any }
	identExpr struct{ name string }
	callExpr  struct {
		name string
		args []expr
	}
	binExpr struct {
		op   string
		l, r expr
	}
	inExpr struct {
		neg  bool
		x    expr
		list []expr
	}
	indexExpr struct {
		x   expr
		key expr
	}
	negExpr struct{ x expr }
)

type assign struct {
	name string // "" when unnamed
	x    expr
}

type tabular interface{}

type (
	tableRef     struct{ name string }
	datatableSrc struct {
		cols []string
		vals []expr
	}
	unionSrc struct {
		fuzzy bool
		parts []tabular
	}
	pipeExpr struct {
		src tabular
		ops []op
	}
)

type op interface{}

type (
	whereOp   struct{ pred expr }
	extendOp  struct{ items []assign }
	projectOp struct{ items []assign }
	summOp    struct {
		aggs []assign
		by   []assign
	}
	joinOp struct {
		kind         string
		right        tabular
		left, right2 []string
	}
	orderKey struct {
		col  string
		desc bool
	}
	orderOp struct{ keys []orderKey }
	takeOp  struct{ n int }
)

type letStmt struct {
	name string
	tab  tabular // one of tab, val
	val  expr
}

type kqlQuery struct {
	lets []letStmt
	body tabular
}

// ---- parser ----

type kqlParser struct {
	toks   []token
	i      int
	tables map[string]bool // names that denote tables: the workspace's and let-bound ones
}

func (p *kqlParser) peek() token { return p.toks[p.i] }
func (p *kqlParser) next() token { t := p.toks[p.i]; p.i++; return t }

func (p *kqlParser) is(text string) bool {
	t := p.peek()
	return (t.kind == tPunct || t.kind == tIdent) && t.text == text
}

func (p *kqlParser) accept(text string) bool {
	if p.is(text) {
		p.i++
		return true
	}
	return false
}

func (p *kqlParser) expect(text string) error {
	if !p.accept(text) {
		return p.errf("want %q", text)
	}
	return nil
}

func (p *kqlParser) errf(format string, a ...any) error {
	t := p.peek()
	return fmt.Errorf("offset %d (at %q): %s", t.pos, t.text, fmt.Sprintf(format, a...))
}

func (p *kqlParser) ident() (string, error) {
	t := p.next()
	if t.kind != tIdent {
		p.i--
		return "", p.errf("want a name")
	}
	return t.text, nil
}

func parseKQL(src string, tables []string) (*kqlQuery, error) {
	toks, err := lexKQL(src)
	if err != nil {
		return nil, err
	}
	p := &kqlParser{toks: toks, tables: map[string]bool{}}
	for _, t := range tables {
		p.tables[t] = true
	}
	q := &kqlQuery{}
	for p.accept("let") {
		name, err := p.ident()
		if err != nil {
			return nil, err
		}
		if err := p.expect("="); err != nil {
			return nil, err
		}
		st := letStmt{name: name}
		if p.startsTabular() {
			if st.tab, err = p.tabular(); err != nil {
				return nil, err
			}
			p.tables[name] = true
		} else if st.val, err = p.expr(); err != nil {
			return nil, err
		}
		if err := p.expect(";"); err != nil {
			return nil, err
		}
		q.lets = append(q.lets, st)
	}
	if q.body, err = p.tabular(); err != nil {
		return nil, err
	}
	p.accept(";")
	if p.peek().kind != tEOF {
		return nil, p.errf("unexpected text after the query")
	}
	return q, nil
}

func (p *kqlParser) startsTabular() bool {
	t := p.peek()
	return t.kind == tIdent && (p.tables[t.text] || t.text == "datatable" || t.text == "union")
}

func (p *kqlParser) tabular() (tabular, error) {
	src, err := p.source()
	if err != nil {
		return nil, err
	}
	pe := &pipeExpr{src: src}
	for p.accept("|") {
		o, err := p.operator()
		if err != nil {
			return nil, err
		}
		pe.ops = append(pe.ops, o)
	}
	return pe, nil
}

func (p *kqlParser) source() (tabular, error) {
	switch {
	case p.accept("("):
		t, err := p.tabular()
		if err != nil {
			return nil, err
		}
		return t, p.expect(")")
	case p.accept("datatable"):
		return p.datatable()
	case p.accept("union"):
		u := &unionSrc{}
		if p.accept("isfuzzy") {
			if err := p.expect("="); err != nil {
				return nil, err
			}
			u.fuzzy = p.accept("true")
			if !u.fuzzy {
				if err := p.expect("false"); err != nil {
					return nil, err
				}
			}
		}
		for {
			t, err := p.source()
			if err != nil {
				return nil, err
			}
			u.parts = append(u.parts, t)
			if !p.accept(",") {
				return u, nil
			}
		}
	}
	name, err := p.ident()
	if err != nil {
		return nil, err
	}
	return &tableRef{name: name}, nil
}

func (p *kqlParser) datatable() (tabular, error) {
	d := &datatableSrc{}
	if err := p.expect("("); err != nil {
		return nil, err
	}
	for {
		c, err := p.ident()
		if err != nil {
			return nil, err
		}
		if err := p.expect(":"); err != nil {
			return nil, err
		}
		if _, err := p.ident(); err != nil { // the type: values carry their own
			return nil, err
		}
		d.cols = append(d.cols, c)
		if !p.accept(",") {
			break
		}
	}
	if err := p.expect(")"); err != nil {
		return nil, err
	}
	if err := p.expect("["); err != nil {
		return nil, err
	}
	for !p.is("]") {
		v, err := p.expr()
		if err != nil {
			return nil, err
		}
		d.vals = append(d.vals, v)
		if !p.accept(",") {
			break
		}
	}
	if err := p.expect("]"); err != nil {
		return nil, err
	}
	if len(d.vals)%len(d.cols) != 0 {
		return nil, fmt.Errorf("datatable: %d values for %d columns", len(d.vals), len(d.cols))
	}
	return d, nil
}

func (p *kqlParser) assigns(allowBare bool) ([]assign, error) {
	var out []assign
	for {
		a := assign{}
		if t := p.peek(); t.kind == tIdent && p.toks[p.i+1].text == "=" && p.toks[p.i+1].kind == tPunct {
			a.name = t.text
			p.i += 2
		}
		x, err := p.expr()
		if err != nil {
			return nil, err
		}
		a.x = x
		if a.name == "" {
			id, ok := x.(*identExpr)
			switch {
			case ok:
				a.name = id.name
			case !allowBare:
				return nil, p.errf("an unnamed expression needs a name (name = ...)")
			}
		}
		out = append(out, a)
		if !p.accept(",") {
			return out, nil
		}
	}
}

func (p *kqlParser) operator() (op, error) {
	name, err := p.ident()
	if err != nil {
		return nil, err
	}
	switch name {
	case "where":
		x, err := p.expr()
		return &whereOp{pred: x}, err
	case "extend":
		items, err := p.assigns(false)
		return &extendOp{items: items}, err
	case "project":
		items, err := p.assigns(false)
		return &projectOp{items: items}, err
	case "summarize":
		s := &summOp{}
		if !p.is("by") {
			if s.aggs, err = p.assigns(true); err != nil {
				return nil, err
			}
		}
		if p.accept("by") {
			if s.by, err = p.assigns(true); err != nil {
				return nil, err
			}
		}
		for i, a := range s.aggs {
			if a.name == "" {
				c, ok := a.x.(*callExpr)
				if !ok {
					return nil, p.errf("summarize: want an aggregation")
				}
				s.aggs[i].name = c.name + "_"
			}
		}
		for i, a := range s.by {
			if a.name == "" {
				if c, ok := a.x.(*callExpr); ok && c.name == "bin" {
					if id, ok := c.args[0].(*identExpr); ok {
						s.by[i].name = id.name
						continue
					}
				}
				return nil, p.errf("summarize by: name the expression")
			}
		}
		return s, nil
	case "join":
		j := &joinOp{kind: "innerunique"}
		if p.accept("kind") {
			if err := p.expect("="); err != nil {
				return nil, err
			}
			if j.kind, err = p.ident(); err != nil {
				return nil, err
			}
		}
		if j.kind != "inner" && j.kind != "leftouter" {
			return nil, p.errf("join kind %q: only inner and leftouter are evaluated (name the kind: the default, innerunique, is not)", j.kind)
		}
		if err := p.expect("("); err != nil {
			return nil, err
		}
		if j.right, err = p.tabular(); err != nil {
			return nil, err
		}
		if err := p.expect(")"); err != nil {
			return nil, err
		}
		if err := p.expect("on"); err != nil {
			return nil, err
		}
		for {
			if p.accept("$left") {
				if err := p.expect("."); err != nil {
					return nil, err
				}
				l, err := p.ident()
				if err != nil {
					return nil, err
				}
				if err := p.expect("=="); err != nil {
					return nil, err
				}
				if err := p.expect("$right"); err != nil {
					return nil, err
				}
				if err := p.expect("."); err != nil {
					return nil, err
				}
				r, err := p.ident()
				if err != nil {
					return nil, err
				}
				j.left, j.right2 = append(j.left, l), append(j.right2, r)
			} else {
				c, err := p.ident()
				if err != nil {
					return nil, err
				}
				j.left, j.right2 = append(j.left, c), append(j.right2, c)
			}
			if !p.accept(",") {
				return j, nil
			}
		}
	case "order", "sort":
		if err := p.expect("by"); err != nil {
			return nil, err
		}
		o := &orderOp{}
		for {
			c, err := p.ident()
			if err != nil {
				return nil, err
			}
			k := orderKey{col: c, desc: true} // Kusto's default is desc
			if p.accept("asc") {
				k.desc = false
			} else {
				p.accept("desc")
			}
			o.keys = append(o.keys, k)
			if !p.accept(",") {
				return o, nil
			}
		}
	case "take", "limit":
		t := p.next()
		if t.kind != tNumber {
			return nil, p.errf("take: want a number")
		}
		return &takeOp{n: int(t.num)}, nil
	}
	return nil, p.errf("operator %q is not in the evaluated subset", name)
}

// Expressions, lowest precedence first: or, and, comparison, additive, multiplicative, unary, postfix.
func (p *kqlParser) expr() (expr, error) { return p.orExpr() }

func (p *kqlParser) orExpr() (expr, error) {
	l, err := p.andExpr()
	for err == nil && p.accept("or") {
		var r expr
		if r, err = p.andExpr(); err == nil {
			l = &binExpr{op: "or", l: l, r: r}
		}
	}
	return l, err
}

func (p *kqlParser) andExpr() (expr, error) {
	l, err := p.cmpExpr()
	for err == nil && p.accept("and") {
		var r expr
		if r, err = p.cmpExpr(); err == nil {
			l = &binExpr{op: "and", l: l, r: r}
		}
	}
	return l, err
}

func (p *kqlParser) cmpExpr() (expr, error) {
	l, err := p.addExpr()
	if err != nil {
		return nil, err
	}
	for _, o := range []string{"==", "!=", "<=", ">=", "<", ">", "=~", "!~", "contains", "!contains", "startswith"} {
		if p.accept(o) {
			r, err := p.addExpr()
			return &binExpr{op: o, l: l, r: r}, err
		}
	}
	if neg := p.is("!in"); neg || p.is("in") {
		p.i++
		if err := p.expect("("); err != nil {
			return nil, err
		}
		in := &inExpr{neg: neg, x: l}
		for {
			x, err := p.expr()
			if err != nil {
				return nil, err
			}
			in.list = append(in.list, x)
			if !p.accept(",") {
				break
			}
		}
		return in, p.expect(")")
	}
	return l, nil
}

func (p *kqlParser) addExpr() (expr, error) {
	l, err := p.mulExpr()
	for err == nil && (p.is("+") || p.is("-")) {
		o := p.next().text
		var r expr
		if r, err = p.mulExpr(); err == nil {
			l = &binExpr{op: o, l: l, r: r}
		}
	}
	return l, err
}

func (p *kqlParser) mulExpr() (expr, error) {
	l, err := p.unary()
	for err == nil && (p.is("*") || p.is("/")) {
		o := p.next().text
		var r expr
		if r, err = p.unary(); err == nil {
			l = &binExpr{op: o, l: l, r: r}
		}
	}
	return l, err
}

func (p *kqlParser) unary() (expr, error) {
	if p.accept("-") {
		x, err := p.unary()
		return &negExpr{x: x}, err
	}
	return p.postfix()
}

func (p *kqlParser) postfix() (expr, error) {
	x, err := p.primary()
	for err == nil {
		switch {
		case p.accept("."):
			var k string
			if k, err = p.ident(); err == nil {
				x = &indexExpr{x: x, key: &litExpr{v: k}}
			}
		case p.accept("["):
			var k expr
			if k, err = p.expr(); err == nil {
				x, err = &indexExpr{x: x, key: k}, p.expect("]")
			}
		default:
			return x, nil
		}
	}
	return nil, err
}

func (p *kqlParser) primary() (expr, error) {
	t := p.next()
	switch t.kind {
	case tString:
		return &litExpr{v: t.text}, nil
	case tNumber:
		return &litExpr{v: t.num}, nil
	case tSpan:
		return &litExpr{v: t.span}, nil
	case tPunct:
		if t.text == "(" {
			x, err := p.expr()
			if err != nil {
				return nil, err
			}
			return x, p.expect(")")
		}
	case tIdent:
		switch t.text {
		case "true":
			return &litExpr{v: true}, nil
		case "false":
			return &litExpr{v: false}, nil
		}
		if p.accept("(") {
			c := &callExpr{name: t.text}
			if t.text == "dynamic" {
				return p.dynamicLit()
			}
			for !p.is(")") {
				a, err := p.expr()
				if err != nil {
					return nil, err
				}
				c.args = append(c.args, a)
				if !p.accept(",") {
					break
				}
			}
			return c, p.expect(")")
		}
		return &identExpr{name: t.text}, nil
	}
	p.i--
	return nil, p.errf("want an expression")
}

// dynamicLit parses the inside of dynamic( ... ): an array of literals or null.
func (p *kqlParser) dynamicLit() (expr, error) {
	if p.accept("null") {
		return &litExpr{v: nil}, p.expect(")")
	}
	if err := p.expect("["); err != nil {
		return nil, err
	}
	arr := []any{}
	for !p.is("]") {
		x, err := p.primary()
		if err != nil {
			return nil, err
		}
		l, ok := x.(*litExpr)
		if !ok {
			return nil, p.errf("dynamic: want literals")
		}
		arr = append(arr, l.v)
		if !p.accept(",") {
			break
		}
	}
	if err := p.expect("]"); err != nil {
		return nil, err
	}
	return &litExpr{v: arr}, p.expect(")")
}

// ---- evaluation ----

type kqlScope struct {
	env     *kqlEnv
	scalars map[string]any
	tables  map[string]*kqlTable
}

// runKQL parses and evaluates src over env's tables.
func runKQL(src string, env *kqlEnv) (*kqlTable, error) {
	names := make([]string, 0, len(env.tables))
	for n := range env.tables {
		names = append(names, n)
	}
	q, err := parseKQL(src, names)
	if err != nil {
		return nil, fmt.Errorf("parse: %w", err)
	}
	s := &kqlScope{env: env, scalars: map[string]any{}, tables: map[string]*kqlTable{}}
	for _, l := range q.lets {
		if l.tab != nil {
			t, err := s.tabular(l.tab)
			if err != nil {
				return nil, fmt.Errorf("let %s: %w", l.name, err)
			}
			s.tables[l.name] = t
			continue
		}
		v, err := s.eval(l.val, nil)
		if err != nil {
			return nil, fmt.Errorf("let %s: %w", l.name, err)
		}
		s.scalars[l.name] = v
	}
	return s.tabular(q.body)
}

var errNoTable = errors.New("no such table")

func (s *kqlScope) tabular(t tabular) (*kqlTable, error) {
	switch t := t.(type) {
	case *tableRef:
		if x, ok := s.tables[t.name]; ok {
			return x, nil
		}
		if x, ok := s.env.tables[t.name]; ok {
			return x, nil
		}
		return nil, fmt.Errorf("%w: %s", errNoTable, t.name)
	case *datatableSrc:
		out := &kqlTable{cols: t.cols}
		for i := 0; i < len(t.vals); i += len(t.cols) {
			row := map[string]any{}
			for j, c := range t.cols {
				v, err := s.eval(t.vals[i+j], nil)
				if err != nil {
					return nil, err
				}
				row[c] = v
			}
			out.rows = append(out.rows, row)
		}
		return out, nil
	case *unionSrc:
		out := &kqlTable{}
		for _, part := range t.parts {
			x, err := s.tabular(part)
			if errors.Is(err, errNoTable) && t.fuzzy {
				continue
			}
			if err != nil {
				return nil, err
			}
			for _, c := range x.cols {
				out.addCol(c)
			}
			out.rows = append(out.rows, x.rows...)
		}
		return out, nil
	case *pipeExpr:
		cur, err := s.tabular(t.src)
		if err != nil {
			return nil, err
		}
		for _, o := range t.ops {
			if cur, err = s.apply(o, cur); err != nil {
				return nil, err
			}
		}
		return cur, nil
	}
	return nil, fmt.Errorf("unknown tabular expression %T", t)
}

func (s *kqlScope) apply(o op, in *kqlTable) (*kqlTable, error) {
	switch o := o.(type) {
	case *whereOp:
		out := &kqlTable{cols: in.cols}
		for _, r := range in.rows {
			v, err := s.eval(o.pred, r)
			if err != nil {
				return nil, fmt.Errorf("where: %w", err)
			}
			if b, _ := v.(bool); b {
				out.rows = append(out.rows, r)
			}
		}
		return out, nil
	case *extendOp:
		out := &kqlTable{cols: append([]string(nil), in.cols...)}
		for _, a := range o.items {
			out.addCol(a.name)
		}
		for _, r := range in.rows {
			nr := make(map[string]any, len(r)+len(o.items))
			for k, v := range r {
				nr[k] = v
			}
			for _, a := range o.items {
				v, err := s.eval(a.x, nr)
				if err != nil {
					return nil, fmt.Errorf("extend %s: %w", a.name, err)
				}
				nr[a.name] = v
			}
			out.rows = append(out.rows, nr)
		}
		return out, nil
	case *projectOp:
		out := &kqlTable{}
		for _, a := range o.items {
			out.addCol(a.name)
		}
		for _, r := range in.rows {
			nr := map[string]any{}
			for _, a := range o.items {
				v, err := s.eval(a.x, r)
				if err != nil {
					return nil, fmt.Errorf("project %s: %w", a.name, err)
				}
				nr[a.name] = v
			}
			out.rows = append(out.rows, nr)
		}
		return out, nil
	case *summOp:
		return s.summarize(o, in)
	case *joinOp:
		return s.join(o, in)
	case *orderOp:
		for _, k := range o.keys {
			if !slices.Contains(in.cols, k.col) {
				return nil, fmt.Errorf("order by: no column named %s", k.col)
			}
		}
		out := &kqlTable{cols: in.cols, rows: append([]map[string]any(nil), in.rows...)}
		sort.SliceStable(out.rows, func(i, j int) bool {
			for _, k := range o.keys {
				c := compare(out.rows[i][k.col], out.rows[j][k.col])
				if c == 0 {
					continue
				}
				if k.desc {
					return c > 0
				}
				return c < 0
			}
			return false
		})
		return out, nil
	case *takeOp:
		out := &kqlTable{cols: in.cols, rows: in.rows}
		if len(out.rows) > o.n {
			out.rows = out.rows[:o.n]
		}
		return out, nil
	}
	return nil, fmt.Errorf("unknown operator %T", o)
}

var aggregations = map[string]bool{"count": true, "countif": true, "sum": true, "avg": true, "min": true, "max": true, "dcount": true, "dcountif": true, "percentile": true, "make_set": true}

// makeSetMax is make_set's default and largest maxSize.
const makeSetMax = 1048576

func (s *kqlScope) summarize(o *summOp, in *kqlTable) (*kqlTable, error) {
	type group struct {
		keys map[string]any
		rows []map[string]any
	}
	var order []string
	groups := map[string]*group{}
	for _, r := range in.rows {
		keys := map[string]any{}
		var id strings.Builder
		for _, b := range o.by {
			v, err := s.eval(b.x, r)
			if err != nil {
				return nil, fmt.Errorf("summarize by %s: %w", b.name, err)
			}
			keys[b.name] = v
			fmt.Fprintf(&id, "%T:%v\x00", v, v)
		}
		g, ok := groups[id.String()]
		if !ok {
			g = &group{keys: keys}
			groups[id.String()] = g
			order = append(order, id.String())
		}
		g.rows = append(g.rows, r)
	}
	if len(o.by) == 0 && len(groups) == 0 {
		groups[""] = &group{keys: map[string]any{}} // summarize without by: one row, even over no input
		order = append(order, "")
	}
	out := &kqlTable{}
	for _, b := range o.by {
		out.addCol(b.name)
	}
	for _, a := range o.aggs {
		out.addCol(a.name)
	}
	for _, id := range order {
		g := groups[id]
		row := map[string]any{}
		for k, v := range g.keys {
			row[k] = v
		}
		for _, a := range o.aggs {
			v, err := s.aggregate(a.x, g.rows)
			if err != nil {
				return nil, fmt.Errorf("summarize %s: %w", a.name, err)
			}
			row[a.name] = v
		}
		out.rows = append(out.rows, row)
	}
	return out, nil
}

func (s *kqlScope) aggregate(x expr, rows []map[string]any) (any, error) {
	c, ok := x.(*callExpr)
	if !ok || !aggregations[c.name] {
		return nil, fmt.Errorf("want an aggregation function (%s)", strings.Join(sortedKeys(aggregations), ", "))
	}
	arg := func(r map[string]any, i int) (any, error) {
		if i >= len(c.args) {
			return nil, fmt.Errorf("%s: missing argument %d", c.name, i+1)
		}
		return s.eval(c.args[i], r)
	}
	pred := func(r map[string]any, i int) (bool, error) {
		v, err := arg(r, i)
		b, _ := v.(bool)
		return b, err
	}
	var nums []float64
	var times []time.Time
	distinct := map[string]bool{}
	set := []any{}
	limit := makeSetMax
	if c.name == "make_set" && len(c.args) > 1 {
		v, err := s.eval(c.args[1], nil)
		if err != nil {
			return nil, err
		}
		f, ok := v.(float64)
		if !ok || f < 1 || f != math.Trunc(f) {
			return nil, fmt.Errorf("make_set: maxSize must be a positive whole number, got %v", v)
		}
		limit = int(math.Min(f, makeSetMax))
	}
	n := 0
	for _, r := range rows {
		switch c.name {
		case "count":
			n++
		case "countif":
			ok, err := pred(r, 0)
			if err != nil {
				return nil, err
			}
			if ok {
				n++
			}
		case "dcount", "dcountif":
			if c.name == "dcountif" {
				ok, err := pred(r, 1)
				if err != nil {
					return nil, err
				}
				if !ok {
					continue
				}
			}
			v, err := arg(r, 0)
			if err != nil {
				return nil, err
			}
			if v != nil {
				distinct[fmt.Sprintf("%T:%v", v, v)] = true
			}
		case "make_set":
			v, err := arg(r, 0)
			if err != nil {
				return nil, err
			}
			switch v.(type) {
			case []any, map[string]any:
				return nil, fmt.Errorf("make_set of a dynamic %T is not in the evaluated subset", v)
			}
			if v == nil || v == "" {
				continue
			}
			if k := fmt.Sprintf("%T:%v", v, v); !distinct[k] && len(set) < limit {
				distinct[k] = true
				set = append(set, v)
			}
		case "min", "max":
			v, err := arg(r, 0)
			if err != nil {
				return nil, err
			}
			if ts, ok := v.(time.Time); ok {
				times = append(times, ts)
			} else if f, ok := toNumber(v); ok {
				nums = append(nums, f)
			}
		default:
			v, err := arg(r, 0)
			if err != nil {
				return nil, err
			}
			if f, ok := toNumber(v); ok {
				nums = append(nums, f)
			}
		}
	}
	switch c.name {
	case "count", "countif":
		return float64(n), nil
	case "dcount", "dcountif":
		return float64(len(distinct)), nil
	case "make_set":
		return set, nil
	}
	if len(times) > 0 {
		if len(nums) > 0 {
			return nil, fmt.Errorf("%s over datetimes and numbers", c.name)
		}
		m := times[0]
		for _, ts := range times[1:] {
			if (c.name == "min") == ts.Before(m) {
				m = ts
			}
		}
		return m, nil
	}
	if len(nums) == 0 {
		if c.name == "sum" {
			return 0.0, nil
		}
		return nil, nil
	}
	sort.Float64s(nums)
	switch c.name {
	case "sum", "avg":
		t := 0.0
		for _, f := range nums {
			t += f
		}
		if c.name == "avg" {
			return t / float64(len(nums)), nil
		}
		return t, nil
	case "min":
		return nums[0], nil
	case "max":
		return nums[len(nums)-1], nil
	}
	// percentile(x, p): nearest rank.
	pv, err := s.eval(c.args[1], nil)
	if err != nil {
		return nil, err
	}
	p, ok := toNumber(pv)
	if !ok || p < 0 || p > 100 {
		return nil, fmt.Errorf("percentile: want a percentage, got %v", pv)
	}
	rank := int(math.Ceil(p / 100 * float64(len(nums))))
	if rank < 1 {
		rank = 1
	}
	return nums[rank-1], nil
}

func (s *kqlScope) join(o *joinOp, left *kqlTable) (*kqlTable, error) {
	right, err := s.tabular(o.right)
	if err != nil {
		return nil, fmt.Errorf("join: %w", err)
	}
	rename := map[string]string{}
	out := &kqlTable{cols: append([]string(nil), left.cols...)}
	inLeft := map[string]bool{}
	for _, c := range left.cols {
		inLeft[c] = true
	}
	for _, c := range right.cols {
		n := c
		if inLeft[c] {
			n = c + "1"
		}
		rename[c] = n
		out.addCol(n)
	}
	key := func(r map[string]any, cols []string) (string, bool) {
		var b strings.Builder
		for _, c := range cols {
			v := r[c]
			if v == nil {
				return "", false // null keys never match
			}
			fmt.Fprintf(&b, "%T:%v\x00", v, v)
		}
		return b.String(), true
	}
	index := map[string][]map[string]any{}
	for _, r := range right.rows {
		if k, ok := key(r, o.right2); ok {
			index[k] = append(index[k], r)
		}
	}
	for _, l := range left.rows {
		k, ok := key(l, o.left)
		matches := index[k]
		if !ok {
			matches = nil
		}
		if len(matches) == 0 && o.kind == "leftouter" {
			nr := copyRow(l)
			for _, c := range right.cols {
				nr[rename[c]] = nil
			}
			out.rows = append(out.rows, nr)
			continue
		}
		for _, r := range matches {
			nr := copyRow(l)
			for c, v := range r {
				nr[rename[c]] = v
			}
			out.rows = append(out.rows, nr)
		}
	}
	return out, nil
}

func copyRow(r map[string]any) map[string]any {
	nr := make(map[string]any, len(r))
	for k, v := range r {
		nr[k] = v
	}
	return nr
}

func sortedKeys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func (s *kqlScope) eval(x expr, row map[string]any) (any, error) {
	switch x := x.(type) {
	case *litExpr:
		return x.v, nil
	case *identExpr:
		if row != nil {
			if v, ok := row[x.name]; ok {
				return v, nil
			}
		}
		if v, ok := s.scalars[x.name]; ok {
			return v, nil
		}
		if row != nil {
			return nil, fmt.Errorf("no column or scalar named %s", x.name)
		}
		return nil, fmt.Errorf("no scalar named %s", x.name)
	case *negExpr:
		v, err := s.eval(x.x, row)
		if err != nil || v == nil {
			return nil, err
		}
		switch v := v.(type) {
		case float64:
			return -v, nil
		case time.Duration:
			return -v, nil
		}
		return nil, fmt.Errorf("cannot negate %T", v)
	case *indexExpr:
		v, err := s.eval(x.x, row)
		if err != nil {
			return nil, err
		}
		k, err := s.eval(x.key, row)
		if err != nil {
			return nil, err
		}
		switch v := v.(type) {
		case map[string]any:
			ks, ok := k.(string)
			if !ok {
				return nil, fmt.Errorf("a property bag takes a string key, got %T", k)
			}
			return v[ks], nil
		case []any:
			f, ok := k.(float64)
			if !ok || int(f) < 0 || int(f) >= len(v) {
				return nil, nil
			}
			return v[int(f)], nil
		case nil:
			return nil, nil
		}
		return nil, fmt.Errorf("cannot index %T", v)
	case *inExpr:
		v, err := s.eval(x.x, row)
		if err != nil {
			return nil, err
		}
		found := false
		for _, e := range x.list {
			lv, err := s.eval(e, row)
			if err != nil {
				return nil, err
			}
			items := []any{lv}
			if arr, ok := lv.([]any); ok {
				items = arr
			}
			for _, it := range items {
				if v != nil && it != nil && compare(v, it) == 0 && sameKind(v, it) {
					found = true
				}
			}
		}
		return found != x.neg, nil
	case *binExpr:
		return s.binary(x, row)
	case *callExpr:
		return s.call(x, row)
	}
	return nil, fmt.Errorf("unknown expression %T", x)
}

func sameKind(a, b any) bool {
	_, an := toNumber(a)
	_, bn := toNumber(b)
	if an || bn {
		return an && bn
	}
	return fmt.Sprintf("%T", a) == fmt.Sprintf("%T", b)
}

func (s *kqlScope) binary(x *binExpr, row map[string]any) (any, error) {
	l, err := s.eval(x.l, row)
	if err != nil {
		return nil, err
	}
	if x.op == "and" || x.op == "or" {
		lb, _ := l.(bool)
		if x.op == "and" && !lb {
			return false, nil
		}
		if x.op == "or" && lb {
			return true, nil
		}
		r, err := s.eval(x.r, row)
		if err != nil {
			return nil, err
		}
		rb, _ := r.(bool)
		return rb, nil
	}
	r, err := s.eval(x.r, row)
	if err != nil {
		return nil, err
	}
	switch x.op {
	case "=~", "!~":
		ls, lok := l.(string)
		rs, rok := r.(string)
		if !lok || !rok {
			return nil, fmt.Errorf("%s compares strings, got %T and %T", x.op, l, r)
		}
		return strings.EqualFold(ls, rs) == (x.op == "=~"), nil
	case "contains", "!contains":
		ls, rs := toString(l), toString(r)
		return strings.Contains(strings.ToLower(ls), strings.ToLower(rs)) == (x.op == "contains"), nil
	case "startswith":
		return strings.HasPrefix(strings.ToLower(toString(l)), strings.ToLower(toString(r))), nil
	case "==", "!=", "<", "<=", ">", ">=":
		if l == nil || r == nil {
			return false, nil
		}
		if !sameKind(l, r) {
			return nil, fmt.Errorf("%s between %T and %T", x.op, l, r)
		}
		c := compare(l, r)
		switch x.op {
		case "==":
			return c == 0, nil
		case "!=":
			return c != 0, nil
		case "<":
			return c < 0, nil
		case "<=":
			return c <= 0, nil
		case ">":
			return c > 0, nil
		}
		return c >= 0, nil
	}
	if l == nil || r == nil {
		return nil, nil
	}
	lt, lIsTime := l.(time.Time)
	rd, rIsSpan := r.(time.Duration)
	if lIsTime && rIsSpan && (x.op == "+" || x.op == "-") {
		if x.op == "-" {
			rd = -rd
		}
		return lt.Add(rd), nil
	}
	lf, lok := toNumber(l)
	rf, rok := toNumber(r)
	if !lok || !rok {
		return nil, fmt.Errorf("%s between %T and %T", x.op, l, r)
	}
	switch x.op {
	case "+":
		return lf + rf, nil
	case "-":
		return lf - rf, nil
	case "*":
		return lf * rf, nil
	}
	if rf == 0 {
		return nil, nil
	}
	return lf / rf, nil
}

func (s *kqlScope) call(c *callExpr, row map[string]any) (any, error) {
	if aggregations[c.name] {
		return nil, fmt.Errorf("%s() outside summarize", c.name)
	}
	args := make([]any, len(c.args))
	for i, a := range c.args {
		v, err := s.eval(a, row)
		if err != nil {
			return nil, err
		}
		args[i] = v
	}
	want := func(n int) error {
		if len(args) != n {
			return fmt.Errorf("%s takes %d arguments, got %d", c.name, n, len(args))
		}
		return nil
	}
	switch c.name {
	case "tostring":
		if err := want(1); err != nil {
			return nil, err
		}
		return toString(args[0]), nil
	case "toint", "tolong", "todouble", "toreal":
		if err := want(1); err != nil {
			return nil, err
		}
		f, ok := toNumber(args[0])
		if !ok {
			return nil, nil
		}
		if c.name == "toint" || c.name == "tolong" {
			f = math.Trunc(f)
		}
		return f, nil
	case "tobool":
		if err := want(1); err != nil {
			return nil, err
		}
		switch v := args[0].(type) {
		case bool:
			return v, nil
		case string:
			if b, err := strconv.ParseBool(strings.ToLower(v)); err == nil {
				return b, nil
			}
		case float64:
			return v != 0, nil
		}
		return nil, nil
	case "coalesce":
		for _, a := range args {
			if a == nil {
				continue
			}
			if s, ok := a.(string); ok && s == "" {
				continue
			}
			return a, nil
		}
		if len(args) > 0 {
			if _, ok := args[len(args)-1].(string); ok {
				return "", nil
			}
		}
		return nil, nil
	case "iff", "iif":
		if err := want(3); err != nil {
			return nil, err
		}
		if b, _ := args[0].(bool); b {
			return args[1], nil
		}
		return args[2], nil
	case "case":
		if len(args)%2 != 1 {
			return nil, fmt.Errorf("case takes pairs and an else value")
		}
		for i := 0; i+1 < len(args); i += 2 {
			if b, _ := args[i].(bool); b {
				return args[i+1], nil
			}
		}
		return args[len(args)-1], nil
	case "isempty", "isnotempty":
		if err := want(1); err != nil {
			return nil, err
		}
		empty := args[0] == nil || args[0] == ""
		return empty == (c.name == "isempty"), nil
	case "isnull", "isnotnull":
		if err := want(1); err != nil {
			return nil, err
		}
		return (args[0] == nil) == (c.name == "isnull"), nil
	case "not":
		if err := want(1); err != nil {
			return nil, err
		}
		b, ok := args[0].(bool)
		if !ok {
			return nil, nil
		}
		return !b, nil
	case "extract":
		if err := want(3); err != nil {
			return nil, err
		}
		re, err := regexp.Compile(toString(args[0]))
		if err != nil {
			return nil, fmt.Errorf("extract: %w", err)
		}
		g, _ := toNumber(args[1])
		m := re.FindStringSubmatch(toString(args[2]))
		if m == nil || int(g) >= len(m) {
			return "", nil
		}
		return m[int(g)], nil
	case "round":
		if len(args) < 1 || len(args) > 2 {
			return nil, fmt.Errorf("round takes 1 or 2 arguments")
		}
		f, ok := toNumber(args[0])
		if !ok {
			return nil, nil
		}
		digits := 0.0
		if len(args) == 2 {
			digits, _ = toNumber(args[1])
		}
		m := math.Pow(10, digits)
		return math.Round(f*m) / m, nil
	case "strcat":
		var b strings.Builder
		for _, a := range args {
			b.WriteString(toString(a))
		}
		return b.String(), nil
	case "bin":
		if err := want(2); err != nil {
			return nil, err
		}
		switch v := args[0].(type) {
		case time.Time:
			d, ok := args[1].(time.Duration)
			if !ok || d <= 0 {
				return nil, fmt.Errorf("bin of a datetime takes a positive timespan")
			}
			return time.Unix(0, 0).UTC().Add(v.Sub(time.Unix(0, 0).UTC()).Truncate(d)), nil
		case float64:
			n, ok := toNumber(args[1])
			if !ok || n <= 0 {
				return nil, fmt.Errorf("bin of a number takes a positive number")
			}
			return math.Floor(v/n) * n, nil
		case nil:
			return nil, nil
		}
		return nil, fmt.Errorf("bin of %T", args[0])
	case "now":
		return s.env.now, nil
	case "ago":
		if err := want(1); err != nil {
			return nil, err
		}
		d, ok := args[0].(time.Duration)
		if !ok {
			return nil, fmt.Errorf("ago takes a timespan")
		}
		return s.env.now.Add(-d), nil
	}
	return nil, fmt.Errorf("function %s is not in the evaluated subset", c.name)
}

// toNumber reads numbers, and strings holding a number (custom dimensions are strings).
func toNumber(v any) (float64, bool) {
	switch v := v.(type) {
	case float64:
		return v, true
	case bool:
		if v {
			return 1, true
		}
		return 0, true
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		return f, err == nil
	case time.Duration:
		return float64(v) / float64(time.Millisecond), true
	}
	return 0, false
}

func toString(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(v)
	case time.Time:
		return v.UTC().Format("2006-01-02T15:04:05.0000000Z")
	case []any, map[string]any:
		b, err := json.Marshal(v)
		if err != nil {
			return fmt.Sprint(v)
		}
		return string(b)
	}
	return fmt.Sprint(v)
}

// compare orders two values of one kind (numbers, strings, times, booleans).
func compare(a, b any) int {
	if af, ok := a.(float64); ok {
		if bf, ok := toNumber(b); ok {
			return cmpFloat(af, bf)
		}
	}
	switch a := a.(type) {
	case string:
		if bs, ok := b.(string); ok {
			return strings.Compare(a, bs)
		}
		if bf, ok := b.(float64); ok {
			if af, ok := toNumber(a); ok {
				return cmpFloat(af, bf)
			}
		}
	case time.Time:
		if bt, ok := b.(time.Time); ok {
			return a.Compare(bt)
		}
	case time.Duration:
		if bd, ok := b.(time.Duration); ok {
			return cmpFloat(float64(a), float64(bd))
		}
	case bool:
		if bb, ok := b.(bool); ok {
			switch {
			case a == bb:
				return 0
			case !a:
				return -1
			}
			return 1
		}
	}
	return strings.Compare(fmt.Sprint(a), fmt.Sprint(b))
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
