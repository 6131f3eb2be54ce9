import time, sys
sys.path.insert(0,"/var/tmp/helper-observe/pysd")
from systemd import journal
MIDS=["39f53479d3a045ac8e11786248231fbf","be02cf6855d2428ba40df7e9d022f03d","7d4958e842da4a758f6c1cdc7b36dcc5","5eb03494b6584870a536b337290809b3","d9b373ed55a64feb8242e02dbe79a49c"]
for n in (1,1000,5000):
  best=9
  for _ in range(3):
    s=time.perf_counter()
    r=journal.Reader(); r.this_boot()
    r.add_match("_PID=1", *[f"MESSAGE_ID={m}" for m in MIDS])
    r.seek_tail()
    k=0
    while k<n:
        e=r.get_previous()
        if not e: break
        k+=1
    best=min(best,time.perf_counter()-s)
  print(f"python-systemd n={n}: {k} entries {1000*best:.0f} ms")
