package infra

import (
	"encoding/json"
	"fmt"
	"os"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"

	sitter "github.com/tree-sitter/go-tree-sitter"
)

// The Bicep type definitions (the files the compiler checks templates
// against) in the format described in ../shared/bicep-types/README.md.

const (
	flagRequired = 1
	flagReadOnly = 2
)

type typeRef struct {
	Ref string `json:"$ref"`
}

type typeProp struct {
	Type  typeRef `json:"type"`
	Flags int     `json:"flags"`
}

type typeElem struct {
	Kind                 string              `json:"$type"`
	Name                 string              `json:"name"`
	Body                 *typeRef            `json:"body"`
	Properties           map[string]typeProp `json:"properties"`
	AdditionalProperties *typeRef            `json:"additionalProperties"`
	Discriminator        string              `json:"discriminator"`
	BaseProperties       map[string]typeProp `json:"baseProperties"`
	Elements             json.RawMessage     `json:"elements"` // union: array; discriminated: object
	ItemType             *typeRef            `json:"itemType"`
	Value                json.RawMessage     `json:"value"`
	MinLength            *int64              `json:"minLength"`
	MaxLength            *int64              `json:"maxLength"`
	Pattern              string              `json:"pattern"`
	MinValue             *int64              `json:"minValue"`
	MaxValue             *int64              `json:"maxValue"`

	union   []typeRef          // decoded Elements of a UnionType
	byValue map[string]typeRef // decoded Elements of a DiscriminatedObjectType
	literal string             // decoded Value of a StringLiteralType
}

type typeFile struct {
	name  string
	elems []typeElem
}

// typ is one element of one file.
type typ struct {
	file *typeFile
	e    *typeElem
}

func (t typ) ref(r typeRef) (typ, error) {
	_, frag, _ := strings.Cut(r.Ref, "#/")
	i, err := strconv.Atoi(frag)
	if err != nil || i < 0 || i >= len(t.file.elems) {
		return typ{}, fmt.Errorf("%s: bad reference %q", t.file.name, r.Ref)
	}
	return typ{t.file, &t.file.elems[i]}, nil
}

// must follows a reference that loadTypeFile has already validated.
func (t typ) must(r typeRef) typ {
	u, err := t.ref(r)
	if err != nil {
		panic(err)
	}
	return u
}

func (t typ) String() string {
	e := t.e
	switch e.Kind {
	case "StringLiteralType":
		return "'" + e.literal + "'"
	case "UnionType":
		var parts []string
		for _, r := range e.union {
			parts = append(parts, t.must(r).String())
		}
		return strings.Join(parts, " | ")
	case "ArrayType":
		return t.must(*e.ItemType).String() + "[]"
	case "ObjectType", "DiscriminatedObjectType":
		if e.Name != "" {
			return e.Name
		}
		return "object"
	case "StringType":
		return "string"
	case "IntegerType":
		return "int"
	case "BooleanType":
		return "bool"
	case "AnyType":
		return "any"
	}
	return e.Kind
}

func loadTypeFile(name string) (*typeFile, error) {
	raw, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	f := &typeFile{name: name}
	if err := json.Unmarshal(raw, &f.elems); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	check := func(r *typeRef) error {
		if r == nil {
			return nil
		}
		_, err := typ{file: f}.ref(*r)
		return err
	}
	for i := range f.elems {
		e := &f.elems[i]
		switch e.Kind {
		case "UnionType":
			if err := json.Unmarshal(e.Elements, &e.union); err != nil {
				return nil, fmt.Errorf("%s #%d: %w", name, i, err)
			}
		case "DiscriminatedObjectType":
			if err := json.Unmarshal(e.Elements, &e.byValue); err != nil {
				return nil, fmt.Errorf("%s #%d: %w", name, i, err)
			}
		case "StringLiteralType":
			if err := json.Unmarshal(e.Value, &e.literal); err != nil {
				return nil, fmt.Errorf("%s #%d: %w", name, i, err)
			}
		}
		refs := []*typeRef{e.Body, e.AdditionalProperties, e.ItemType}
		for _, p := range e.Properties {
			refs = append(refs, &p.Type)
		}
		for _, p := range e.BaseProperties {
			refs = append(refs, &p.Type)
		}
		for j := range e.union {
			refs = append(refs, &e.union[j])
		}
		for _, r := range e.byValue {
			refs = append(refs, &r)
		}
		for _, r := range refs {
			if err := check(r); err != nil {
				return nil, err
			}
		}
	}
	return f, nil
}

// typeSet maps `namespace/type@version` (lower case) to the resource types
// of that name; the same name can appear more than once.
type typeSet struct {
	byName   map[string][]typ
	versions map[string][]string // lower-case type -> versions as written
}

func (s *typeSet) add(t typ) {
	key := strings.ToLower(t.e.Name)
	s.byName[key] = append(s.byName[key], t)
	typeName, version, _ := strings.Cut(t.e.Name, "@")
	s.versions[strings.ToLower(typeName)] = append(s.versions[strings.ToLower(typeName)], version)
}

var (
	typesOnce sync.Once
	typesSet  *typeSet
	typesErr  error
)

// bicepTypePaths lists the pinned type files: every pinned path under bicep-types/.
func bicepTypePaths() ([]string, error) {
	s, err := pinned()
	if err != nil {
		return nil, err
	}
	var out []string
	for p := range s.pins {
		if strings.HasPrefix(p, "bicep-types/") {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out, nil
}

// loadTypeSet reads the resource types of the given local files: Azure
// types.json by their ResourceType elements, Graph by its index.json.
func loadTypeSet(local map[string]string) (*typeSet, error) {
	s := &typeSet{byName: map[string][]typ{}, versions: map[string][]string{}}
	var keys []string
	for k := range local {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if path.Base(k) != "types.json" {
			continue
		}
		f, err := loadTypeFile(local[k])
		if err != nil {
			return nil, err
		}
		if idx, ok := local[path.Join(path.Dir(k), "index.json")]; ok {
			var index struct {
				Resources map[string]typeRef `json:"resources"`
			}
			raw, err := os.ReadFile(idx)
			if err == nil {
				err = json.Unmarshal(raw, &index)
			}
			if err != nil {
				return nil, fmt.Errorf("%s: %v", idx, err)
			}
			for name, r := range index.Resources {
				t, err := typ{file: f}.ref(r)
				if err != nil || t.e.Kind != "ResourceType" || !strings.EqualFold(t.e.Name, name) {
					return nil, fmt.Errorf("%s: %s does not lead to its ResourceType (%v)", idx, name, err)
				}
				s.add(t)
			}
			continue
		}
		for i := range f.elems {
			if f.elems[i].Kind == "ResourceType" {
				s.add(typ{f, &f.elems[i]})
			}
		}
	}
	return s, nil
}

// typeCheck is the result for one resource declaration.
type typeCheck struct {
	resource string // position, symbol, type@version
	findings []string
	names    int      // property names verified
	values   int      // literal values verified against their types
	skipped  []string // paths whose value is an expression, not checked
}

type checker struct {
	f       *bicepFile
	set     *typeSet
	res     string // type@version for messages
	typName string
	version string
	out     *typeCheck
}

func (c *checker) finding(n *sitter.Node, p, format string, args ...any) {
	c.out.findings = append(c.out.findings, fmt.Sprintf("%s: %s %s: %s", c.f.pos(n), c.res, p, fmt.Sprintf(format, args...)))
}

func (c *checker) skip(p, why string) { c.out.skipped = append(c.out.skipped, p+" ("+why+")") }

// fullType is the resource's `namespace/type`, a nested child's type name
// resolved with its parent's.
func (r resource) fullType() string {
	if strings.Contains(r.typ, "/") {
		return r.typ
	}
	for n := r.node.Parent(); n != nil; n = n.Parent() {
		if n.Kind() == "resource_declaration" {
			parent := resource{file: r.file, node: n}
			for i := uint(0); i < n.NamedChildCount(); i++ {
				if c := n.NamedChild(i); c.Kind() == "string" {
					parent.typ, _, _ = strings.Cut(r.file.literal(c), "@")
					break
				}
			}
			return parent.fullType() + "/" + r.typ
		}
	}
	return r.typ
}

// apiVersion is the declared version; a nested child without one takes its
// parent's.
func (r resource) apiVersion() string {
	if r.version != "" || strings.Contains(r.typ, "/") {
		return r.version
	}
	for n := r.node.Parent(); n != nil; n = n.Parent() {
		if n.Kind() == "resource_declaration" {
			for _, p := range r.file.resources() {
				if p.node.Id() == n.Id() {
					return p.apiVersion()
				}
			}
		}
	}
	return ""
}

// checkResourceTypes type-checks every resource declaration of the files.
func checkResourceTypes(files []*bicepFile, set *typeSet) []*typeCheck {
	var out []*typeCheck
	for _, f := range files {
		for _, r := range f.resources() {
			out = append(out, checkResource(r, set))
		}
	}
	return out
}

func checkResource(r resource, set *typeSet) *typeCheck {
	full := r.fullType()
	r.version = r.apiVersion()
	tc := &typeCheck{resource: fmt.Sprintf("%s %s '%s@%s'", r.file.pos(r.node), r.symbol, full, r.version)}
	c := &checker{f: r.file, set: set, res: fmt.Sprintf("resource %s '%s@%s'", r.symbol, full, r.version), typName: full, version: r.version, out: tc}
	cands := set.byName[strings.ToLower(full+"@"+r.version)]
	if len(cands) == 0 {
		known := set.versions[strings.ToLower(full)]
		sort.Strings(known)
		if len(known) == 0 {
			c.finding(r.node, "type", "no type definitions for %s at any pinned version (pin its types.json, or the type does not exist)", full)
		} else {
			c.finding(r.node, "type", "API version %s of %s is not in the type definitions (known: %s)", r.version, full, strings.Join(known, ", "))
		}
		return tc
	}
	if r.existing || r.body == nil {
		return tc
	}
	// Several resource types can share a name (one per fixed `name` value);
	// the one whose body accepts the declaration is chosen.
	var best *typeCheck
	for _, t := range cands {
		trial := &typeCheck{resource: tc.resource}
		tcand := &checker{f: c.f, set: set, res: c.res, typName: full, version: r.version, out: trial}
		tcand.value(r.body, t.must(*t.e.Body), "", true)
		if best == nil || len(trial.findings) < len(best.findings) {
			best = trial
		}
	}
	return best
}

// bicepLevel are resource body keys the compiler handles itself.
var bicepLevel = map[string]bool{"parent": true, "scope": true, "dependsOn": true}

// value checks node n against type t at path p.
func (c *checker) value(n *sitter.Node, t typ, p string, top bool) {
	switch n.Kind() {
	case "parenthesized_expression":
		if n.NamedChildCount() == 1 {
			c.value(n.NamedChild(0), t, p, top)
			return
		}
	case "ternary_expression":
		// Either branch can be the value: each must fit.
		for _, field := range []string{"consequence", "alternative"} {
			if b := n.ChildByFieldName(field); b != nil {
				c.value(b, t, p, top)
			}
		}
		return
	}
	if t.e.Kind == "AnyType" {
		c.out.values++
		return
	}
	if t.e.Kind == "UnionType" && !c.literalKind(n) {
		c.skip(p, "expression")
		return
	}
	if t.e.Kind == "UnionType" {
		c.union(n, t, p, top)
		return
	}
	switch n.Kind() {
	case "object":
		c.object([]*sitter.Node{n}, t, p, top, true)
	case "call_expression":
		parts, whole := c.unionParts(n)
		if parts == nil {
			c.skip(p, "expression")
			return
		}
		if !whole {
			c.skip(p, "union() with a non-literal part: required properties not checked")
		}
		c.object(parts, t, p, top, whole)
	case "for_statement":
		if t.e.Kind != "ArrayType" {
			c.finding(n, p, "a for-expression (array) where %s is expected", t)
			return
		}
		c.value(n.NamedChild(n.NamedChildCount()-1), t.must(*t.e.ItemType), p+"[]", false)
	case "array":
		if t.e.Kind != "ArrayType" {
			c.finding(n, p, "an array where %s is expected", t)
			return
		}
		c.out.values++
		for i := uint(0); i < n.NamedChildCount(); i++ {
			c.value(n.NamedChild(i), t.must(*t.e.ItemType), fmt.Sprintf("%s[%d]", p, i), false)
		}
	case "string":
		c.stringValue(n, t, p)
	case "number":
		c.number(n, t, p)
	case "boolean":
		if t.e.Kind != "BooleanType" {
			c.finding(n, p, "%s where %s is expected", c.f.text(n), t)
			return
		}
		c.out.values++
	case "null":
		c.out.values++ // null leaves the property unset
	default:
		c.skip(p, "expression")
	}
}

// literalKind: n is a value whose shape is known without evaluation.
func (c *checker) literalKind(n *sitter.Node) bool {
	switch n.Kind() {
	case "object", "array", "for_statement", "number", "boolean", "null":
		return true
	case "string":
		return !c.interpolated(n)
	case "call_expression":
		parts, _ := c.unionParts(n)
		return parts != nil
	}
	return false
}

func (c *checker) interpolated(n *sitter.Node) bool {
	for i := uint(0); i < n.NamedChildCount(); i++ {
		if n.NamedChild(i).Kind() == "interpolation" {
			return true
		}
	}
	return false
}

// unionParts returns the object literals of a union() call (ternary branches
// flattened) and whether every argument was one.
func (c *checker) unionParts(n *sitter.Node) ([]*sitter.Node, bool) {
	fn, args := n.ChildByFieldName("function"), n.ChildByFieldName("arguments")
	if fn == nil || args == nil || c.f.text(fn) != "union" {
		return nil, false
	}
	whole := true
	var parts []*sitter.Node
	for i := uint(0); i < args.NamedChildCount(); i++ {
		objs := c.f.objects(args.NamedChild(i))
		if len(objs) == 0 {
			whole = false
		}
		parts = append(parts, objs...)
	}
	if len(parts) == 0 {
		return nil, false
	}
	return parts, whole
}

// union accepts a literal when one member accepts it.
func (c *checker) union(n *sitter.Node, t typ, p string, top bool) {
	var first *typeCheck
	for _, r := range t.e.union {
		trial := &typeCheck{}
		(&checker{f: c.f, set: c.set, res: c.res, typName: c.typName, version: c.version, out: trial}).value(n, t.must(r), p, top)
		if len(trial.findings) == 0 {
			c.out.names += trial.names
			c.out.values += trial.values
			c.out.skipped = append(c.out.skipped, trial.skipped...)
			return
		}
		if first == nil {
			first = trial
		}
	}
	if n.Kind() == "string" || n.Kind() == "number" || n.Kind() == "boolean" {
		c.finding(n, p, "%s is not one of %s", c.f.text(n), t)
		return
	}
	c.finding(n, p, "matches no member of %s", t)
	if first != nil {
		c.out.findings = append(c.out.findings, first.findings...)
	}
}

func (c *checker) stringValue(n *sitter.Node, t typ, p string) {
	if c.interpolated(n) {
		if t.e.Kind == "StringType" && t.e.Pattern == "" && t.e.MinLength == nil && t.e.MaxLength == nil {
			c.out.values++
			return
		}
		if t.e.Kind == "StringType" || t.e.Kind == "StringLiteralType" {
			c.skip(p, "interpolated string")
			return
		}
		c.finding(n, p, "a string where %s is expected", t)
		return
	}
	v := c.f.literal(n)
	if strings.HasPrefix(v, "'''") {
		v = strings.TrimSuffix(strings.TrimPrefix(v, "'''"), "'''")
	}
	switch t.e.Kind {
	case "StringLiteralType":
		if v != t.e.literal {
			c.finding(n, p, "'%s' is not %s", v, t)
			return
		}
	case "StringType":
		if t.e.MinLength != nil && int64(len(v)) < *t.e.MinLength || t.e.MaxLength != nil && int64(len(v)) > *t.e.MaxLength {
			c.finding(n, p, "'%s' has length %d outside [%s, %s]", v, len(v), bound(t.e.MinLength), bound(t.e.MaxLength))
			return
		}
		if t.e.Pattern != "" {
			re, err := regexp.Compile(t.e.Pattern)
			if err != nil {
				c.skip(p, "pattern not a Go regexp")
				return
			}
			if !re.MatchString(v) {
				c.finding(n, p, "'%s' does not match the pattern %s", v, t.e.Pattern)
				return
			}
		}
	default:
		c.finding(n, p, "a string where %s is expected", t)
		return
	}
	c.out.values++
}

func bound(b *int64) string {
	if b == nil {
		return "-"
	}
	return strconv.FormatInt(*b, 10)
}

func (c *checker) number(n *sitter.Node, t typ, p string) {
	if t.e.Kind != "IntegerType" {
		c.finding(n, p, "%s where %s is expected", c.f.text(n), t)
		return
	}
	v, err := strconv.ParseInt(c.f.text(n), 10, 64)
	if err != nil {
		c.finding(n, p, "%s is not an integer", c.f.text(n))
		return
	}
	if t.e.MinValue != nil && v < *t.e.MinValue || t.e.MaxValue != nil && v > *t.e.MaxValue {
		c.finding(n, p, "%d outside [%s, %s]", v, bound(t.e.MinValue), bound(t.e.MaxValue))
		return
	}
	c.out.values++
}

// object checks the properties of one or more object literals that together
// form the value (the parts of a union()). required: all parts are literal,
// so absent required properties can be reported.
func (c *checker) object(objs []*sitter.Node, t typ, p string, top, required bool) {
	var props map[string]typeProp
	var additional *typeRef
	switch t.e.Kind {
	case "ObjectType":
		props, additional = t.e.Properties, t.e.AdditionalProperties
	case "DiscriminatedObjectType":
		d := c.find(objs, t.e.Discriminator)
		if d == nil {
			c.finding(objs[0], p, "the discriminator %s is missing", t.e.Discriminator)
			return
		}
		if d.Kind() != "string" || c.interpolated(d) {
			c.skip(join(p, t.e.Discriminator), "discriminator is an expression: the object is not checked")
			return
		}
		v := c.f.literal(d)
		r, ok := t.e.byValue[v]
		if !ok {
			var known []string
			for k := range t.e.byValue {
				known = append(known, k)
			}
			sort.Strings(known)
			c.finding(d, join(p, t.e.Discriminator), "'%s' is not one of %s", v, strings.Join(known, ", "))
			return
		}
		el := t.must(r)
		props = map[string]typeProp{}
		for k, v := range t.e.BaseProperties {
			props[k] = v
		}
		for k, v := range el.e.Properties {
			props[k] = v
		}
		additional = el.e.AdditionalProperties
	default:
		c.finding(objs[0], p, "an object where %s is expected", t)
		return
	}
	seen := map[string]bool{}
	for _, o := range objs {
		for i := uint(0); i < o.NamedChildCount(); i++ {
			kv := o.NamedChild(i)
			if kv.Kind() != "object_property" || kv.NamedChildCount() < 2 {
				continue
			}
			keyNode, val := kv.NamedChild(0), kv.NamedChild(kv.NamedChildCount()-1)
			if strings.HasPrefix(string(c.f.raw[kv.StartByte():]), "...") {
				c.skip(p+".(spread)", "spread: its keys and required properties are not checked")
				required = false
				continue
			}
			key := c.f.literal(keyNode)
			if top && bicepLevel[key] {
				continue
			}
			kp := join(p, key)
			name, prop, ok := lookup(props, key)
			if !ok {
				if additional != nil {
					c.out.names++
					c.value(val, t.must(*additional), kp, false)
					continue
				}
				msg := "property does not exist in " + c.res[strings.Index(c.res, "'"):]
				if other := c.otherVersions(kp); other != "" {
					msg += " (it exists in " + other + ")"
				}
				c.finding(keyNode, kp, "%s", msg)
				continue
			}
			seen[strings.ToLower(name)] = true
			if prop.Flags&flagReadOnly != 0 && prop.Flags&flagRequired == 0 {
				c.finding(keyNode, kp, "read-only property set")
				continue
			}
			c.out.names++
			c.value(val, t.must(prop.Type), kp, false)
		}
	}
	if !required {
		return
	}
	var names []string
	for name := range props {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if props[name].Flags&flagRequired != 0 && !seen[strings.ToLower(name)] {
			c.finding(objs[0], join(p, name), "required property missing")
		}
	}
}

// lookup finds a property by name; Bicep matches names case-insensitively.
func lookup(props map[string]typeProp, key string) (string, typeProp, bool) {
	if p, ok := props[key]; ok {
		return key, p, true
	}
	for name, p := range props {
		if strings.EqualFold(name, key) {
			return name, p, true
		}
	}
	return "", typeProp{}, false
}

func (c *checker) find(objs []*sitter.Node, key string) *sitter.Node {
	for _, o := range objs {
		if v := c.f.prop(o, key); v != nil {
			return v
		}
	}
	return nil
}

func join(p, key string) string {
	if p == "" {
		return key
	}
	return p + "." + key
}

var indexPart = regexp.MustCompile(`\[\d*\]`)

// otherVersions names the loaded versions of the same resource type in
// which the property path exists, to tell a typo from a too-old version.
func (c *checker) otherVersions(p string) string {
	names := strings.Split(indexPart.ReplaceAllString(p, ""), ".")
	var found []string
	for _, v := range c.set.versions[strings.ToLower(c.typName)] {
		if strings.EqualFold(v, c.version) {
			continue
		}
		for _, t := range c.set.byName[strings.ToLower(c.typName+"@"+v)] {
			if hasPath(t.must(*t.e.Body), names) {
				found = append(found, v)
				break
			}
		}
	}
	sort.Strings(found)
	return strings.Join(found, ", ")
}

func hasPath(t typ, names []string) bool {
	for t.e.Kind == "ArrayType" {
		t = t.must(*t.e.ItemType)
	}
	if len(names) == 0 {
		return true
	}
	var maps []map[string]typeProp
	switch t.e.Kind {
	case "ObjectType":
		maps = append(maps, t.e.Properties)
	case "DiscriminatedObjectType":
		maps = append(maps, t.e.BaseProperties)
		for _, r := range t.e.byValue {
			maps = append(maps, t.must(r).e.Properties)
		}
	case "UnionType":
		for _, r := range t.e.union {
			if hasPath(t.must(r), names) {
				return true
			}
		}
		return false
	}
	for _, m := range maps {
		if _, p, ok := lookup(m, names[0]); ok && hasPath(t.must(p.Type), names[1:]) {
			return true
		}
	}
	return false
}
