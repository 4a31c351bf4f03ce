package mappings

import (
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/vm"
)

// exprEnv is what an expression sees. attr("path") and attrs("path") calls
// are rewritten at compile time into reads of the slot slice, which the
// projector fills by resolving the compiled paths before the run.
type exprEnv struct {
	User       map[string]any `expr:"user"`
	Enterprise map[string]any `expr:"enterprise"`
	Slots      []any          `expr:"__attr"`
}

// expression is a compiled mapping expression, immutable and safe for
// concurrent use.
type expression struct {
	text     string
	program  *vm.Program
	paths    []slotPath // attr and attrs calls, in slot order
	usesUser bool       // reads user or enterprise, which need canonical keys
}

type slotPath struct {
	path *attrPath
	all  bool // attrs: every value; attr: the single value
}

// vmPool recycles expression machines: a VM keeps its stack between runs,
// which saves allocations on every projection.
var vmPool = sync.Pool{New: func() any { return new(vm.VM) }}

// compileExpression compiles an expression once. dir checks the profile
// attributes it names; tables are the mapping's lookup tables.
func compileExpression(text string, dir *Directory, tables map[string]map[string]any) (
	*expression, error) {
	rw := &rewriter{dir: dir, tables: tables}
	opts := []expr.Option{
		expr.Env(exprEnv{}),
		expr.Patch(rw),
		expr.Patch(nilSafe{}),
		// now() would make projection depend on the clock and repeat() can
		// exhaust memory; a mapping needs neither.
		expr.DisableBuiltin("now"),
		expr.DisableBuiltin("repeat"),
	}
	opts = append(opts, functions(tables)...)
	program, err := expr.Compile(text, opts...)
	if rw.err != nil {
		return nil, rw.err
	}
	if err != nil {
		return nil, errors.New(oneLine(err))
	}
	return &expression{text: text, program: program, paths: rw.paths, usesUser: rw.usesUser},
		nil
}

// run evaluates the expression for a user whose slots are already resolved.
func (e *expression) run(env *exprEnv) (any, error) {
	machine := vmPool.Get().(*vm.VM)
	out, err := machine.Run(e.program, env)
	vmPool.Put(machine)
	if err != nil {
		return nil, errors.New(oneLine(err))
	}
	return out, nil
}

// fill resolves the expression's attribute slots for a user into env.Slots.
func (e *expression) fill(env *exprEnv, user map[string]any) {
	env.Slots = env.Slots[:0]
	for _, sp := range e.paths {
		if sp.all {
			env.Slots = append(env.Slots, sp.path.all(user, make([]any, 0, 2)))
		} else {
			env.Slots = append(env.Slots, sp.path.one(user))
		}
	}
}

// oneLine renders an expr error on one line, with its column, dropping the
// source snippet expr draws under it.
func oneLine(err error) string {
	var fe *file.Error
	if errors.As(err, &fe) {
		if fe.Snippet != "" || fe.Column > 0 {
			return fmt.Sprintf("%s (column %d)", fe.Message, fe.Column+1)
		}
		return fe.Message
	}
	return strings.ReplaceAll(err.Error(), "\n", " ")
}

// rewriter turns attr("path") and attrs("path") into slot reads, checks the
// paths and the user.x.y chains against the directory, and checks that
// lookup names a table the mapping has.
type rewriter struct {
	dir      *Directory
	tables   map[string]map[string]any
	paths    []slotPath
	usesUser bool
	err      error
}

func (r *rewriter) fail(err error) {
	if r.err == nil {
		r.err = err
	}
}

// Visit implements ast.Visitor.
func (r *rewriter) Visit(node *ast.Node) {
	switch n := (*node).(type) {
	case *ast.IdentifierNode:
		if n.Value == "user" || n.Value == "enterprise" {
			r.usesUser = true
		}
	case *ast.MemberNode:
		r.checkChain(n)
	case *ast.CallNode:
		id, ok := n.Callee.(*ast.IdentifierNode)
		if !ok {
			return
		}
		switch id.Value {
		case "attr", "attrs":
			r.rewriteAttr(node, n, id.Value)
		case "lookup":
			r.checkLookup(n)
		}
	}
}

func (r *rewriter) rewriteAttr(node *ast.Node, call *ast.CallNode, name string) {
	lit, ok := oneString(call)
	if !ok {
		r.fail(fmt.Errorf("%s takes one quoted attribute path, as in %s(\"name.givenName\")",
			name, name))
		return
	}
	p, err := parsePath(lit)
	if err == nil && r.dir != nil {
		_, err = p.check(r.dir)
	}
	if err != nil {
		r.fail(fmt.Errorf("%s: %w", name, err))
		return
	}
	r.paths = append(r.paths, slotPath{path: p, all: name == "attrs"})
	ast.Patch(node, &ast.MemberNode{
		Node:     &ast.IdentifierNode{Value: "__attr"},
		Property: &ast.IntegerNode{Value: len(r.paths) - 1},
	})
}

func (r *rewriter) checkLookup(call *ast.CallNode) {
	if len(call.Arguments) == 0 {
		return
	}
	lit, ok := call.Arguments[0].(*ast.StringNode)
	if !ok {
		return
	}
	if _, found := r.tables[lit.Value]; !found {
		r.fail(fmt.Errorf("lookup: the mapping has no table %q%s", lit.Value,
			suggest(lit.Value, tableNames(r.tables))))
	}
}

// checkChain checks user.a.b and enterprise.a.b against the directory.
// Chains that index into lists or go deeper are left to run time.
func (r *rewriter) checkChain(n *ast.MemberNode) {
	if r.dir == nil {
		return
	}
	segs, root := chain(n)
	if len(segs) == 0 {
		return
	}
	var err error
	switch root {
	case "user":
		if strings.HasPrefix(strings.ToLower(segs[0]), "urn:") {
			err = r.checkSegments(segs[0], segs[1:])
		} else {
			err = r.checkSegments("", segs)
		}
	case "enterprise":
		err = r.checkSegments(EnterpriseUserURN, segs)
	default:
		return
	}
	if err != nil {
		r.fail(fmt.Errorf("%s.%s: %w", root, strings.Join(segs, "."), err))
	}
}

func (r *rewriter) checkSegments(urn string, segs []string) error {
	if len(segs) == 0 {
		if urn != "" && r.dir.schema(urn) == nil {
			_, _, err := r.dir.resolve(urn, "x", "")
			return err
		}
		return nil
	}
	sub := ""
	if len(segs) > 1 {
		sub = segs[1]
	}
	_, _, err := r.dir.resolve(urn, segs[0], sub)
	return err
}

// chain returns the string properties of a member chain and the identifier
// at its root, or no segments when the chain is not a plain one.
func chain(n *ast.MemberNode) ([]string, string) {
	var segs []string
	var node ast.Node = n
	for {
		switch t := node.(type) {
		case *ast.ChainNode:
			node = t.Node
			continue
		case *ast.MemberNode:
			s, ok := t.Property.(*ast.StringNode)
			if !ok {
				return nil, ""
			}
			segs = append([]string{s.Value}, segs...)
			node = t.Node
			continue
		case *ast.IdentifierNode:
			return segs, t.Value
		}
		return nil, ""
	}
}

func oneString(call *ast.CallNode) (string, bool) {
	if len(call.Arguments) != 1 {
		return "", false
	}
	s, ok := call.Arguments[0].(*ast.StringNode)
	if !ok {
		return "", false
	}
	return s.Value, true
}

func tableNames(tables map[string]map[string]any) []string {
	out := make([]string, 0, len(tables))
	for name := range tables {
		out = append(out, name)
	}
	return out
}

// nilSafe makes every member access optional, as if written a?.b: reading
// user.name.givenName from a user without a name gives nil instead of an
// error, which is what an administrator expects of a missing attribute.
type nilSafe struct{}

// Visit implements ast.Visitor.
func (nilSafe) Visit(node *ast.Node) {
	m, ok := (*node).(*ast.MemberNode)
	if !ok || m.Method {
		return
	}
	m.Optional = true
	ast.Patch(node, &ast.ChainNode{Node: m})
}
