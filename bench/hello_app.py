"""The floor for HTTP timings in ``bench/scale.py``: the smallest Flask app under the same gunicorn."""
from flask import Flask, jsonify, request

app = Flask(__name__)


@app.get("/hello")
def hello():
    return jsonify({"results": [], "q": request.args.get("q", "")})


@app.get("/")
def index():
    return "ok"
