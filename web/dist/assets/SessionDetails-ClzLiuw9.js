import{a as e}from"./rolldown-runtime-DoHqwKmD.js";import{a as t,n}from"./preload-helper-BGqbAlK5.js";import{_ as r,a as i,c as a,d as o,f as s,g as c,h as l,m as u,n as d,p as f,r as p,t as m,u as h}from"./index-ztfaxJ23.js";import{t as g}from"./UserSearch-B2E3E_sY.js";import{c as _,s as v,t as y}from"./shared-BEd7kF1C.js";var b=e(t(),1),x=[`OWNER`,`ADMIN`,`MEMBER`];function S(e){switch(e){case`OWNER`:return`Owner`;case`ADMIN`:return`Admin`;case`MEMBER`:return`Member`}}function C(e,t){return e===`GROUP`&&(t===`OWNER`||t===`ADMIN`)}function w(e,t,n,r){return e!==`GROUP`||r?!1:t===`OWNER`||t===`ADMIN`&&n===`MEMBER`}function T(e,t,n){return e===`GROUP`&&t===`OWNER`&&!n}function E(e){return e===`GROUP`}function D(e,t){let n=t.filter(e=>!e.isSelf);return n.length===0?`You are its last member: the group will be empty.`:e===`OWNER`&&!n.some(e=>e.role===`OWNER`)?`You are its only owner: the longest-standing member becomes owner.`:`You will no longer see its messages unless someone adds you again.`}var O=n(),k=s(`
  query SessionDetails($id: ID!) {
    session(id: $id) {
      id
      kind
      title
      createdAt
      viewerRole
      members {
        role
        joinedAt
        user {
          id
          username
          displayName
          location
          createdAt
          avatar {
            url(size: 256)
          }
        }
      }
    }
  }
`),A=s(`
  mutation RenameGroup($sessionId: ID!, $title: String!) {
    renameSession(sessionId: $sessionId, title: $title) {
      id
      title
    }
  }
`),j=s(`
  mutation AddGroupMembers($sessionId: ID!, $userIds: [ID!]!) {
    addSessionMembers(sessionId: $sessionId, userIds: $userIds) {
      id
    }
  }
`),M=s(`
  mutation RemoveGroupMember($sessionId: ID!, $userId: ID!) {
    removeSessionMember(sessionId: $sessionId, userId: $userId) {
      id
    }
  }
`),N=s(`
  mutation SetGroupMemberRole($sessionId: ID!, $userId: ID!, $role: MemberRole!) {
    setSessionMemberRole(sessionId: $sessionId, userId: $userId, role: $role) {
      id
    }
  }
`),P=s(`
  mutation LeaveGroup($sessionId: ID!) {
    leaveSession(sessionId: $sessionId)
  }
`);function F(e){return a(t=>{let n=t.inbox.sessions[e];if(!n)return``;let r=n.members.map(e=>`${e.user.id}:${e.role}`).join(`,`);return`${n.title??``}|${n.viewerRole}|${r}`})}function I(e){let{sessionId:t}=e,[n,r]=u({query:k,variables:{id:t},requestPolicy:`cache-and-network`}),i=()=>r({requestPolicy:`network-only`}),a=F(t),s=(0,b.useRef)(a);(0,b.useEffect)(()=>{s.current!==a&&(s.current=a,r({requestPolicy:`network-only`}))},[a,r]);let{data:l,error:d,fetching:f}=n;return d&&h(d)===`NOT_FOUND`?(0,O.jsxs)(`section`,{className:`f-page`,"aria-label":`Conversation details`,children:[(0,O.jsx)(`h2`,{children:`Conversation not available`}),(0,O.jsx)(`p`,{role:`alert`,className:`f-error`,children:`This conversation is not available to you: you may have been removed from the group or left it, or it does not exist.`}),(0,O.jsx)(`p`,{children:(0,O.jsx)(c,{href:`/`,children:`Back to your conversations`})})]}):l?(0,O.jsx)(L,{session:l.session,refetch:i}):(0,O.jsx)(`section`,{className:`f-page`,"aria-label":`Conversation details`,children:d?(0,O.jsxs)(O.Fragment,{children:[(0,O.jsx)(`p`,{role:`alert`,className:`f-error`,children:o(d)}),(0,O.jsx)(`div`,{className:`f-actions`,children:(0,O.jsx)(`button`,{type:`button`,onClick:i,children:`Try again`})})]}):(0,O.jsx)(`p`,{className:`f-muted`,"aria-live":`polite`,children:f?`Loading details…`:``})})}function L(e){let{session:t,refetch:n}=e,{viewer:r}=l(),a=r?.id??``,o=(0,b.useId)(),s=t.members.filter(e=>e.user.id!==a),u=t.kind===`GROUP`?t.title??`Group`:s[0]?.user.displayName??`Direct conversation`;return(0,O.jsxs)(`section`,{className:`f-page`,"aria-labelledby":o,children:[(0,O.jsxs)(`div`,{className:`f-details-head`,children:[(0,O.jsxs)(c,{href:`/c/${t.id}`,className:`f-back`,children:[(0,O.jsx)(`span`,{"aria-hidden":`true`,children:`← `}),`Back to the conversation`]}),(0,O.jsx)(`h2`,{id:o,children:u}),(0,O.jsx)(`p`,{className:`f-muted f-subtitle`,children:t.kind===`GROUP`?`Group · ${t.members.length} ${t.members.length===1?`member`:`members`} · created ${i(t.createdAt)}`:`Direct conversation`})]}),t.kind===`DIRECT`?(0,O.jsxs)(O.Fragment,{children:[s[0]&&(0,O.jsx)(R,{member:s[0]}),(0,O.jsx)(B,{session:t,viewerId:a,refetch:n})]}):(0,O.jsxs)(O.Fragment,{children:[C(t.kind,t.viewerRole)&&(0,O.jsx)(z,{sessionId:t.id,current:t.title??``,refetch:n}),(0,O.jsx)(B,{session:t,viewerId:a,refetch:n}),C(t.kind,t.viewerRole)&&(0,O.jsx)(V,{session:t,refetch:n}),E(t.kind)&&(0,O.jsx)(H,{session:t,viewerId:a})]})]})}function R(e){let{user:t}=e.member,n=(0,b.useId)();return(0,O.jsxs)(`section`,{className:`f-section f-profile-card`,"aria-labelledby":n,children:[(0,O.jsx)(p,{name:t.displayName,url:t.avatar?.url,size:96}),(0,O.jsxs)(`div`,{className:`f-profile-text`,children:[(0,O.jsx)(`h3`,{id:n,children:t.displayName}),(0,O.jsxs)(`p`,{className:`f-username`,children:[`@`,t.username]}),t.location&&(0,O.jsx)(`p`,{children:t.location}),(0,O.jsxs)(`p`,{className:`f-muted`,children:[`Member since `,(0,O.jsx)(`time`,{dateTime:t.createdAt,children:i(t.createdAt)})]})]})]})}function z(e){let t=(0,b.useId)(),[n,r]=(0,b.useState)(e.current),[i,a]=(0,b.useState)(null),[s,c]=(0,b.useState)(!1),[l,u]=f(A),[d,p]=(0,b.useState)(e.current);d!==e.current&&(p(e.current),n===d&&r(e.current));let m=async t=>{t.preventDefault(),c(!1);let r=_(n);if(r){a(r);return}a(null);let i=await u({sessionId:e.sessionId,title:v(n)});i.error?a(o(i.error)):(c(!0),e.refetch())};return(0,O.jsxs)(`section`,{className:`f-section`,"aria-labelledby":`${t}-h`,children:[(0,O.jsx)(`h3`,{id:`${t}-h`,children:`Title`}),(0,O.jsxs)(`form`,{className:`f-form`,onSubmit:e=>void m(e),noValidate:!0,children:[(0,O.jsx)(`label`,{htmlFor:`${t}-title`,className:`f-label`,children:`Group title`}),(0,O.jsxs)(`div`,{className:`f-row`,children:[(0,O.jsx)(`input`,{id:`${t}-title`,value:n,autoComplete:`off`,"aria-invalid":i?!0:void 0,"aria-describedby":`${t}-hint`,onChange:e=>{r(e.target.value),c(!1)}}),(0,O.jsx)(`button`,{type:`submit`,disabled:l.fetching,children:l.fetching?`Renaming…`:`Rename`})]}),(0,O.jsxs)(`p`,{id:`${t}-hint`,className:`f-hint`,children:[`1–`,100,` characters.`]}),(0,O.jsx)(y,{message:i}),s&&(0,O.jsx)(`p`,{role:`status`,className:`f-ok`,children:`Renamed.`})]})]})}function B(e){let{session:t,viewerId:n,refetch:r}=e,a=(0,b.useId)(),[s,c]=f(M),[l,u]=f(N),[d,m]=(0,b.useState)(null),[h,g]=(0,b.useState)(null),[_,v]=(0,b.useState)({}),C=e=>{let t=_[e.user.id];return t&&t.from===e.role?t.role:e.role},E=s.fetching||l.fetching,D=async e=>{m(null),g(null);let n=await c({sessionId:t.id,userId:e.user.id});n.error?m(o(n.error)):(g(`${e.user.displayName} was removed from the group.`),r())},k=async(e,n)=>{m(null),g(null),v(t=>({...t,[e.user.id]:{role:n,from:e.role}}));let i=await u({sessionId:t.id,userId:e.user.id,role:n});i.error?(v(t=>{let n={...t};return delete n[e.user.id],n}),m(o(i.error))):(g(`${e.user.displayName} is now ${S(n).toLowerCase()}.`),r())};return(0,O.jsxs)(`section`,{className:`f-section`,"aria-labelledby":`${a}-h`,children:[(0,O.jsx)(`h3`,{id:`${a}-h`,children:`Members`}),(0,O.jsx)(`ul`,{className:`f-members`,"aria-labelledby":`${a}-h`,children:t.members.map(e=>{let{user:r}=e,a=r.id===n,o=r.displayName,s=T(t.kind,t.viewerRole,a);return(0,O.jsxs)(`li`,{className:`f-member`,children:[(0,O.jsx)(p,{name:o,url:r.avatar?.url,size:40}),(0,O.jsxs)(`div`,{className:`f-person-name`,children:[(0,O.jsxs)(`span`,{className:`f-strong`,children:[o,a&&(0,O.jsx)(`span`,{className:`f-muted`,children:` (you)`})]}),(0,O.jsxs)(`span`,{className:`f-username`,children:[`@`,r.username,` · joined`,` `,(0,O.jsx)(`time`,{dateTime:e.joinedAt,children:i(e.joinedAt)})]})]}),(0,O.jsxs)(`div`,{className:`f-member-actions`,children:[t.kind===`GROUP`&&(s?(0,O.jsx)(`select`,{"aria-label":`Role of ${o}`,value:C(e),disabled:E,onChange:t=>void k(e,t.target.value),children:x.map(e=>(0,O.jsx)(`option`,{value:e,children:S(e)},e))}):(0,O.jsx)(`span`,{className:`f-role f-role-${e.role.toLowerCase()}`,children:S(e.role)})),w(t.kind,t.viewerRole,e.role,a)&&(0,O.jsxs)(`button`,{type:`button`,disabled:E,onClick:()=>void D(e),children:[`Remove `,o]})]})]},r.id)})}),(0,O.jsx)(y,{message:d}),(0,O.jsx)(`p`,{role:`status`,className:`f-ok`,children:h??``})]})}function V(e){let{session:t,refetch:n}=e,r=(0,b.useId)(),[i,a]=f(j),[s,c]=(0,b.useState)(null),[l,u]=(0,b.useState)(null),d=(0,b.useMemo)(()=>new Set(t.members.map(e=>e.user.id)),[t.members]),m=async(e,r)=>{c(null),u(null);let i=await a({sessionId:t.id,userIds:[e]});i.error?c(o(i.error)):(u(`${r} was added to the group.`),n())};return(0,O.jsxs)(`section`,{className:`f-section`,"aria-labelledby":`${r}-h`,children:[(0,O.jsx)(`h3`,{id:`${r}-h`,children:`Invite people`}),(0,O.jsx)(g,{label:`Add people`,renderUser:e=>(0,O.jsxs)(O.Fragment,{children:[(0,O.jsx)(p,{name:e.displayName,url:e.avatar?.url,size:32}),(0,O.jsxs)(`span`,{className:`f-person-name`,children:[(0,O.jsx)(`span`,{className:`f-strong`,children:e.displayName}),(0,O.jsxs)(`span`,{className:`f-username`,children:[`@`,e.username]})]}),d.has(e.id)?(0,O.jsx)(`span`,{className:`f-muted`,children:`Already a member`}):(0,O.jsxs)(`button`,{type:`button`,disabled:i.fetching,onClick:()=>void m(e.id,e.displayName),children:[`Add `,e.displayName]})]})}),(0,O.jsx)(y,{message:s}),(0,O.jsx)(`p`,{role:`status`,className:`f-ok`,children:l??``})]})}function H(e){let{session:t,viewerId:n}=e,i=(0,b.useId)(),[,a]=r(),[s,c]=f(P),l=d(),[u,p]=(0,b.useState)(null),h=async()=>{p(null);let e=await c({sessionId:t.id});e.error?p(o(e.error)):a(`/`)},g=D(t.viewerRole,t.members.map(e=>({role:e.role,isSelf:e.user.id===n})));return(0,O.jsxs)(`section`,{className:`f-section`,"aria-labelledby":`${i}-h`,children:[(0,O.jsx)(`h3`,{id:`${i}-h`,children:`Leave`}),l.confirming?(0,O.jsx)(m,{question:`Leave “${t.title}”? ${g}`,confirmLabel:`Yes, leave`,busyLabel:`Leaving…`,busy:s.fetching,onConfirm:()=>void h(),onCancel:l.cancel}):(0,O.jsx)(`div`,{className:`f-actions`,children:(0,O.jsx)(`button`,{ref:l.trigger,type:`button`,onClick:l.ask,children:`Leave group`})}),(0,O.jsx)(y,{message:u})]})}export{I as SessionDetails};