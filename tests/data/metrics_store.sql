-- A store small enough to compute the headline figures by hand (tests/domain/test_metrics.py, tests/pages/test_app.py).
-- Loaded into a fresh store created by analytics.store.connect; only the columns the figures read.
-- Periods used by the tests: 2024Q2 (2024-04-01 <= t < 2024-07-01) and the one before it, 2024Q1.

INSERT INTO reps (rep_id, name, rep_level, town) VALUES
    ('R001', '张伟', '区', '瓜沥镇'),
    ('R002', '李娜', '区', '城厢街道'),
    ('R003', '王芳', '区', '瓜沥镇'),
    ('R004', '王芳', '镇', '城厢街道');   -- same name in two towns: a lead "王芳" has no town

INSERT INTO opinions (opinion_id, submitted_at, town, content, status, satisfaction) VALUES
    -- 2024Q2, 瓜沥镇
    ('O01', '2024-04-01 00:00:00', '瓜沥镇',   '路灯不亮', '已办结',   '满意'),      -- first instant of Q2
    ('O02', '2024-05-10 09:30:00', '瓜沥镇',   '噪声扰民', '已办结',   '基本满意'),
    ('O03', '2024-06-30 23:59:59', '瓜沥镇',   '停车难',   '已办结',   '不满意'),    -- last instant of Q2
    ('O04', '2024-05-01 08:00:00', '瓜沥镇',   '河道清理', '办理中',   NULL),
    ('O05', '2024-05-02 08:00:00', '瓜沥镇',   '重复反映', '不予受理', '未评价'),
    -- 2024Q2, 城厢街道
    ('O06', '2024-04-15 10:00:00', '城厢街道', '加装电梯', '已办结',   '未评价'),
    ('O07', '2024-06-01 10:00:00', '城厢街道', '学位紧张', NULL,       NULL),        -- status unknown
    -- 2024Q1
    ('O08', '2024-03-31 23:59:59', '瓜沥镇',   '垃圾分类', '已办结',   '满意'),      -- last instant of Q1
    ('O09', '2024-02-01 10:00:00', '城厢街道', '老旧小区', '办理中',   NULL),
    -- 2024Q3 (outside both)
    ('O10', '2024-07-01 00:00:00', '瓜沥镇',   '助餐服务', '已办结',   '满意');

INSERT INTO suggestions (suggestion_id, session, submitted_at, lead_rep, title, answer_class) VALUES
    ('S01', '十八届三次', '2024-04-10', 'R001', '支小路打通',   'A'),   -- lead by id -> 瓜沥镇
    ('S02', '十八届三次', '2024-05-10', '张伟', '亚运场馆利用', 'B'),   -- lead by name -> 瓜沥镇
    ('S03', '十八届三次', '2024-06-10', '李娜', '学位供给',     'C'),   -- -> 城厢街道
    ('S04', '十八届三次', '2024-06-20', '王芳', '回迁安置',     'A'),   -- ambiguous name: district only
    ('S05', '十八届三次', '2024-05-20', '张伟', '河道整治',     NULL),  -- not answered yet
    ('S06', '十八届三次', '2024-01-10', '李娜', '居家养老助餐', 'A');   -- 2024Q1

INSERT INTO activities (activity_id, date, town, type, participants, headcount) VALUES
    ('A01', '2024-04-03', '瓜沥镇',   '进站接待', '张伟、王芳',       5),    -- headcount given: 5
    ('A02', '2024-05-03', '瓜沥镇',   '视察',     '张伟、王芳；李娜', NULL), -- no headcount: 3 names
    ('A03', '2024-06-03', '城厢街道', '调研',     NULL,               NULL), -- neither: 0
    ('A04', '2024-03-03', '瓜沥镇',   '学习培训', '张伟',             NULL); -- 2024Q1: 1 name
