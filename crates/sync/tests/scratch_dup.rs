mod memory_world;
use crmsync_engine::ConflictPolicy;
use crmsync_model::FieldMap;
use memory_world::*;

#[tokio::test]
async fn scratch() {
    let mut w = MemWorld::new(ConflictPolicy::Manual).await;
    let f: FieldMap = [("first_name", "A"), ("last_name", "B"), ("email1", "p0@example.com")]
        .into_iter()
        .collect();
    w.crm_create(Kind::Contact, &f).await;
    let g: FieldMap = [("first_name", "A"), ("last_name", "D"), ("email1", "p0@example.com")]
        .into_iter()
        .collect();
    w.gw_create(Kind::Contact, &g);
    for _ in 0..3 {
        let r = w.sync().await;
        println!("{r}");
        for c in &r.collections {
            for a in &c.plan.actions {
                println!("  {a}  {:?}", a.conflicts);
            }
        }
        println!("conflicts: {:?}", w.store.open_conflicts(Some(PROFILE)).await.unwrap());
    }
    let s = w.snapshot().await;
    println!("{:?}", s.pairs[&Kind::Contact]);
}
