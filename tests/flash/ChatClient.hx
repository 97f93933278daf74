/* SPDX-License-Identifier: ISC */
/*
 * A small, real Flash chat client for Switchboard's tests.
 *
 * Build: haxe -swf ChatClient.swf -swf-version 10 -swf-header 480:240:30:ffffff \
 *             -cp tests/flash -main ChatClient
 *
 * It speaks the seed-000 text dialect over flash.net.XMLSocket:
 *   -> IDENTIFY <nick>            (XMLSocket.send appends the NUL)
 *   <- <identify aid="nick" name="nick" />
 *   -> LIST
 *   <- <nicklist><nick aid=".." name=".." />...</nicklist>
 *   -> MSG <peer> hello from flash   (once the peer is seen in the list or logs in)
 *   <- <msg aid="FROM" time=".." msg="TEXT" from=".." to=".." />
 *   -> MSG <FROM> pong: TEXT         (answer to every message from someone else)
 *
 * Parameters come from flashvars: host, port, nick, peer, password (optional).
 * Everything it sends and receives is reported to the page, one line per
 * event, through ExternalInterface.call("swfLog", line):
 *   "param host=.. port=.. nick=.. peer=.."
 *   "connect" | "close" | "ioerror <text>" | "securityerror <text>"
 *   "send <command>"           (without the trailing NUL)
 *   "recv <raw element>"       (exactly what arrived, minus the NUL)
 *   "identified <nick>" | "peer-online <nick>" | "peer-quit <nick>"
 *   "msg <from> <text>"        (a private message, decoded)
 *   "error <value>" | "badxml <text>"
 */
import flash.display.Sprite;
import flash.events.DataEvent;
import flash.events.Event;
import flash.events.IOErrorEvent;
import flash.events.SecurityErrorEvent;
import flash.external.ExternalInterface;
import flash.net.XMLSocket;
import flash.text.TextField;

class ChatClient extends Sprite {
	var sock:XMLSocket;
	var host:String;
	var port:Int;
	var nick:String;
	var peer:String;
	var password:String;
	var greeted:Bool = false;
	var screen:TextField;

	static function main() {
		flash.Lib.current.addChild(new ChatClient());
	}

	public function new() {
		super();
		screen = new TextField();
		screen.width = 480;
		screen.height = 240;
		screen.multiline = true;
		screen.wordWrap = true;
		addChild(screen);

		var p:Dynamic = flash.Lib.current.loaderInfo.parameters;
		host = param(p, "host", "127.0.0.1");
		port = Std.parseInt(param(p, "port", "8080"));
		nick = param(p, "nick", "flashy");
		peer = param(p, "peer", "");
		password = param(p, "password", "");
		report("param host=" + host + " port=" + port + " nick=" + nick + " peer=" + peer);

		sock = new XMLSocket();
		sock.addEventListener(Event.CONNECT, onConnect);
		sock.addEventListener(Event.CLOSE, function(_) report("close"));
		sock.addEventListener(IOErrorEvent.IO_ERROR, function(e:IOErrorEvent) report("ioerror " + e.text));
		sock.addEventListener(SecurityErrorEvent.SECURITY_ERROR,
			function(e:SecurityErrorEvent) report("securityerror " + e.text));
		sock.addEventListener(DataEvent.DATA, onData);
		sock.connect(host, port);
	}

	static function param(p:Dynamic, name:String, def:String):String {
		var v:Dynamic = p == null ? null : Reflect.field(p, name);
		return v == null || Std.string(v) == "" ? def : Std.string(v);
	}

	function report(line:String) {
		screen.appendText(line + "\n");
		screen.scrollV = screen.maxScrollV;
		try {
			if (ExternalInterface.available)
				ExternalInterface.call("swfLog", line);
		} catch (e:Dynamic) {
			screen.appendText("(ExternalInterface failed: " + Std.string(e) + ")\n");
		}
	}

	function send(cmd:String) {
		report("send " + cmd);
		sock.send(cmd);
	}

	function onConnect(_) {
		report("connect");
		send(password == "" ? "IDENTIFY " + nick : "IDENTIFY " + nick + " " + password);
	}

	function greet() {
		if (peer == "" || greeted)
			return;
		greeted = true;
		send("MSG " + peer + " hello from flash");
	}

	function onData(e:DataEvent) {
		var raw:String = e.data;
		report("recv " + raw);
		// Tolerate a client-style trailing newline or stray whitespace.
		var text = StringTools.trim(raw);
		if (text == "")
			return;
		var doc:Xml;
		try {
			doc = Xml.parse(text);
		} catch (err:Dynamic) {
			report("badxml " + Std.string(err));
			return;
		}
		for (el in doc.elements())
			handle(el);
	}

	function handle(el:Xml) {
		switch (el.nodeName) {
			case "identify":
				report("identified " + el.get("aid"));
				send("LIST");
			case "login":
				var who = el.get("aid");
				if (who == peer) {
					report("peer-online " + who);
					greet();
				}
			case "quit":
				var who = el.get("aid");
				if (who == peer) {
					report("peer-quit " + who);
					greeted = false;
				}
			case "nicklist":
				for (n in el.elementsNamed("nick")) {
					if (n.get("aid") == peer) {
						report("peer-online " + peer);
						greet();
					}
				}
			case "msg":
				var from = el.get("aid");
				if (from == null)
					from = el.get("from");
				var text = el.get("msg");
				if (text == null)
					text = "";
				report("msg " + from + " " + text);
				// Seed 000 echoes a message back to its sender: never answer
				// ourselves, and never answer a pong (two clients would loop).
				if (from != null && from != nick && !StringTools.startsWith(text, "pong:"))
					send("MSG " + from + " pong: " + text);
			case "error":
				report("error " + el.get("value"));
			default:
				report("unknown " + el.nodeName);
		}
	}
}
