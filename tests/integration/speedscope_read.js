'use strict';
/*
 * Reads a file with speedscope's own importer, as its web app does when a
 * file is dropped on it, and prints what it understood as JSON:
 *
 *	node speedscope_read.js NPM_PREFIX FILE
 *	{"log": [...], "profiles": [{"name", "total",
 *	  "samples": [{"stack": [root-first frame names], "weight": N}]}]}
 *
 * The npm package ships the app as one browser bundle, whose importer is
 * not exported. The bundle is run in a bare context (its DOM use is
 * absorbed by inert stand-ins), cut before the statement that renders the
 * app; the promise through which the app reaches its importer module is
 * found by the one call the app makes on it, importProfileGroupFromText.
 * Exit 2: the bundle is not what this expects (a speedscope version that
 * scripts/deps.sh does not install).
 */
const fs = require('fs');
const path = require('path');
const vm = require('vm');

function fail(msg) {
	process.stderr.write('speedscope_read: ' + msg + '\n');
	process.exit(2);
}

function bundle(prefix) {
	const dir = path.join(prefix, 'node_modules', 'speedscope', 'dist',
			      'release');
	let names;
	try {
		names = fs.readdirSync(dir);
	} catch (e) {
		fail(dir + ': ' + e.message);
	}
	const js = names.filter(f => /^speedscope-.*\.js$/.test(f));
	if (js.length !== 1)
		fail('expected one speedscope-*.js in ' + dir + ', found ' +
		     js.length);
	return fs.readFileSync(path.join(dir, js[0]), 'utf8');
}

/* The bundle without its rendering, leaving the importer in __importer. */
function hooked(src) {
	const m = /\(await (\w+)\)\.importProfileGroupFromText\(/.exec(src);
	const cut = src.lastIndexOf('console.log(`speedscope v');
	if (!m || cut < 0)
		fail('importer or render statement not found in the bundle');
	return src.slice(0, cut) + 'globalThis.__importer=' + m[1] + ';})();';
}

/* Anything at all: every property, call or construction gives itself. */
function inert() {
	const self = new Proxy(function () {}, {
		get(t, k) {
			if (k === Symbol.toPrimitive)
				return () => '';
			return k === 'then' ? undefined : self;
		},
		apply: () => self,
		construct: () => self,
		set: () => true,
	});
	return self;
}

function samples(profile) {
	const out = [];
	const walk = (node, stack) => {
		if (node.getSelfWeight() > 0)
			out.push({ stack: stack.slice(), weight: node.getSelfWeight() });
		for (const c of node.children) {
			stack.push(c.frame.name);
			walk(c, stack);
			stack.pop();
		}
	};
	walk(profile.getGroupedCalltreeRoot(), []);
	return out;
}

async function main() {
	if (process.argv.length !== 4)
		fail('usage: speedscope_read.js NPM_PREFIX FILE');
	const file = process.argv[3];
	const log = [];
	const say = (...a) => log.push(a.join(' '));
	const ctx = {
		console: { log: say, warn: say, error: say, info: say,
			   assert() {} },
		TextDecoder, TextEncoder, URL, setTimeout, clearTimeout,
		setInterval, clearInterval, queueMicrotask,
	};
	for (const name of ['window', 'document', 'navigator', 'location',
			    'localStorage'])
		ctx[name] = inert();
	ctx.self = ctx.global = ctx.window;
	vm.createContext(ctx);
	vm.runInContext(hooked(bundle(process.argv[2])), ctx);
	const importers = await ctx.__importer;
	const group = await importers.importProfileGroupFromText(
		path.basename(file), fs.readFileSync(file, 'utf8'));
	const profiles = group ? group.profiles.map(p => ({
		name: p.getName(),
		total: p.getTotalWeight(),
		samples: samples(p),
	})) : [];
	process.stdout.write(JSON.stringify({ log, profiles }) + '\n');
}

main().catch(e => fail(e && e.stack ? e.stack : String(e)));
